"""QK-norm and the output z-loss at a high learning rate (chapter 3, section "Stable training").

A small Llama-style character model on tiny Shakespeare (LAYERS layers, width WIDTH, 4 query and
2 key/value heads, context 64) trained with AdamW at a learning rate well above the one the
chapter's models use, in three variants with the same weights at step 0, data order and recipe:
plain, with QK-norm (an RMSNorm on each head's queries and keys), and with QK-norm plus PaLM's
output z-loss (1e-4 log^2 Z). Recorded every EVERY steps: the training loss, the largest
attention score |q . k| / sqrt(D) of any head on a fixed batch, and the mean log Z of the output
softmax on that batch; at the end the validation loss. A run whose loss turns non-finite, or
climbs above ln V (the loss of a uniform guess), is marked diverged and stopped there.

Wortsman et al. (2023, arXiv:2309.14322) report that at high learning rates attention logits
grow until the softmax saturates and the loss diverges, and that QK-layernorm prevents it;
whether a model this small shows it at all is part of what is measured.

BENCH_STEPS (default 300), BENCH_SEEDS (default 2) and BENCH_LRS (default "0.003,0.1")
shorten or lengthen the run. Writes results/qk_norm.{json,md}.
"""

import json
import math
import os
import statistics
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from benchmarks.shakespeare import characters
from snippets.models.llama import Llama, LlamaConfig
from snippets.training.loop import TrainConfig, evaluate, make_optimizer
from snippets.training.schedule import lr_at
from snippets.training.stability import max_attention_logits, output_z_loss
from snippets.training.text_data import get_batch

STEPS = int(os.environ.get("BENCH_STEPS", 300))
SEEDS = int(os.environ.get("BENCH_SEEDS", 2))
LRS = [float(x) for x in os.environ.get("BENCH_LRS", "0.003,0.1").split(",")]
LAYERS, WIDTH, CONTEXT, BATCH, WARMUP, EVERY = 4, 64, 64, 16, 20, 20
VARIANTS = {"plain": (False, False), "qk_norm": (True, False), "qk_norm_z_loss": (True, True)}


def run(variant: str, lr: float, seed: int, data: tuple[torch.Tensor, torch.Tensor],
        vocab_size: int) -> dict:
    train_data, val_data = data
    qk_norm, z_loss = VARIANTS[variant]
    config = LlamaConfig(vocab_size=vocab_size, context_length=CONTEXT, n_layers=LAYERS,
                         n_heads=4, n_kv_heads=2, d_model=WIDTH, d_ff=3 * WIDTH, qk_norm=qk_norm)
    torch.manual_seed(seed)  # QK-norm adds only weights of 1: the other weights are equal
    model = Llama(config)
    optimizer = make_optimizer(model, TrainConfig(lr=lr, max_steps=STEPS, warmup_steps=WARMUP))
    batches = torch.Generator().manual_seed(seed)
    probe, _ = get_batch(val_data, BATCH, CONTEXT, torch.Generator().manual_seed(99))
    curve, logits_max, log_z, diverged_at = [], [], [], None
    cpu0 = time.process_time()
    for step in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, max_lr=lr, min_lr=lr / 10, warmup_steps=WARMUP,
                                total_steps=STEPS)
        x, y = get_batch(train_data, BATCH, CONTEXT, batches)
        logits, loss = model(x, y)
        total = loss + output_z_loss(logits) if z_loss else loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if not math.isfinite(loss.item()) or (step > WARMUP and loss.item() > math.log(vocab_size)):
            diverged_at = step
            break
        if step % EVERY == 0 or step == STEPS - 1:
            model.eval()
            curve.append([step, loss.item()])
            logits_max.append([step, max(max_attention_logits(model, probe))])
            with torch.no_grad():
                log_z.append([step, torch.logsumexp(model(probe)[0], dim=-1).mean().item()])
            model.train()
    cpu = time.process_time() - cpu0
    val = evaluate(model, val_data, BATCH, CONTEXT, iters=50, seed=4321) if diverged_at is None else None
    return {"variant": variant, "lr": lr, "seed": seed, "steps_run": len(curve) and curve[-1][0] + 1,
            "diverged_at": diverged_at, "val_loss": val, "loss": curve, "max_logit": logits_max,
            "log_z": log_z, "cpu_s": round(cpu, 1)}


def main() -> None:
    torch.set_num_threads(1)
    data, vocab_size = characters()
    watch = LoadWatch()
    runs = []
    for lr in LRS:
        for seed in range(SEEDS):
            for variant in VARIANTS:
                runs.append(run(variant, lr, seed, data, vocab_size))
                r = runs[-1]
                print({k: r[k] for k in ("variant", "lr", "seed", "diverged_at", "val_loss", "cpu_s")},
                      "max logit", r["max_logit"][-1][1] if r["max_logit"] else None, flush=True)
    watch.stop()
    summary = {}
    for lr in LRS:
        for variant in VARIANTS:
            mine = [r for r in runs if r["lr"] == lr and r["variant"] == variant]
            vals = [r["val_loss"] for r in mine if r["val_loss"] is not None]
            summary[f"{variant}@{lr:g}"] = {
                "variant": variant, "lr": lr, "diverged": sum(r["diverged_at"] is not None for r in mine),
                "runs": len(mine), "median_val_loss": statistics.median(vals) if vals else None,
                "median_final_max_logit": statistics.median(r["max_logit"][-1][1] for r in mine),
                "median_peak_max_logit": statistics.median(max(v for _, v in r["max_logit"]) for r in mine),
                "median_final_log_z": statistics.median(r["log_z"][-1][1] for r in mine)}
    out = {"steps": STEPS, "seeds": SEEDS, "lrs": LRS, "layers": LAYERS, "width": WIDTH,
           "context": CONTEXT, "batch": BATCH, "warmup": WARMUP, "every": EVERY,
           "vocab_size": vocab_size, "runs": runs, "summary": summary,
           **watch.as_dict(), "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "qk_norm.json").write_text(json.dumps(out) + "\n")
    write_markdown("qk_norm.md", table(out))


NAMES = {"plain": "plain", "qk_norm": "QK-norm", "qk_norm_z_loss": "QK-norm + z-loss"}


def table(data: dict) -> list[str]:
    rows = ["| Peak learning rate | Variant | Diverged | Validation loss, nats (median) | "
            "Largest attention score, peak (median) | Mean log Z at the end (median) |",
            "|---:|---|---:|---:|---:|---:|"]
    for r in data["summary"].values():
        val = f"{r['median_val_loss']:.3f}" if r["median_val_loss"] is not None else "–"
        rows.append(f"| {r['lr']:g} | {NAMES[r['variant']]} | {r['diverged']} of {r['runs']} | {val} | "
                    f"{r['median_peak_max_logit']:.1f} | {r['median_final_log_z']:.2f} |")
    busy = " Measured on a busy machine (losses do not depend on it; the run's length does)." if data["busy"] else ""
    rows += ["", f"{data['layers']} layers, width {data['width']}, context {data['context']}, batch "
             f"{data['batch']}; {data['steps']:,} steps (warm-up {data['warmup']}, cosine to a tenth), "
             f"AdamW, clipping at 1.0, {data['seeds']} seeds each, one thread.{busy} "
             "[^qk-norm-run]", "", f"[^qk-norm-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
