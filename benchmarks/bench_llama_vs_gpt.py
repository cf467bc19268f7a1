"""The 2026 block against the GPT-2 block at equal parameters and equal time (chapter 5).

Two character-level models of about 0.8M parameters on tiny Shakespeare: the library's GPT
(the shakespeare-char preset: LayerNorm, GELU, learned positions, tied head) and the Llama-style
model (the llama-shakespeare preset: RMSNorm, SwiGLU, RoPE, 2 key/value heads for 4 query heads,
untied head). Both train with the library's loop and the same recipe (AdamW at 4e-3 after 50
warm-up steps, batch 16, context 64, the same data order) for the same budget of CPU seconds,
one thread each, seeds interleaved (GPT, Llama, Llama, GPT, ...). The budget counts this
process's CPU time (time.process_time), which equals wall time on an idle core and stays fair
when the machine is shared; wall time is recorded too. The figure is the validation loss after
the budget (100 fixed validation batches), median over the seeds.

BENCH_BUDGET_S (default 60) and BENCH_SEEDS (default 3) shorten or lengthen the run.
Writes results/llama_vs_gpt.{json,md}.
"""

import json
import math
import os
import statistics
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from benchmarks.shakespeare import characters
from snippets.models.gpt import GPT, GPTConfig
from snippets.models.llama import Llama, LlamaConfig
from snippets.training.loop import TrainConfig, TrainState, evaluate, make_optimizer, train

BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", 60))
SEEDS = int(os.environ.get("BENCH_SEEDS", 3))
CONTEXT, BATCH, LR, EVAL = 64, 16, 4e-3, 25


def build(kind: str, vocab_size: int) -> torch.nn.Module:
    if kind == "gpt":  # the shakespeare-char preset
        return GPT(GPTConfig(vocab_size=vocab_size, context_length=CONTEXT, n_layers=4, n_heads=4,
                             d_model=128, bias=False, activation="gelu"))
    return Llama(LlamaConfig(vocab_size=vocab_size, context_length=CONTEXT, n_layers=4,  # llama-shakespeare
                             n_heads=4, n_kv_heads=2, d_model=128, d_ff=384))


def run(kind: str, seed: int, data: tuple[torch.Tensor, torch.Tensor], vocab_size: int) -> dict:
    train_data, val_data = data
    config = TrainConfig(batch_size=BATCH, max_steps=100_000, lr=LR, min_lr=LR / 10,
                         warmup_steps=50, eval_interval=EVAL, eval_iters=5, seed=seed)
    state = TrainState.fresh(seed)  # seeds the initialisation and the batches
    model = build(kind, vocab_size)
    optimizer = make_optimizer(model, config)
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def on_eval(row: dict) -> bool:
        return time.process_time() - cpu0 >= BUDGET_S

    train(model, optimizer, train_data, val_data, config, state, on_eval=on_eval)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    final = evaluate(model, val_data, BATCH, CONTEXT, iters=100, seed=4321)
    return {"kind": kind, "seed": seed, "parameters": model.num_parameters(),
            "steps": state.step, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
            "val_loss": final}


def main() -> None:
    torch.set_num_threads(1)
    data, vocab_size = characters()
    watch = LoadWatch()
    runs = []
    for seed in range(SEEDS):  # interleaved: the first to run alternates
        order = ("gpt", "llama") if seed % 2 == 0 else ("llama", "gpt")
        for kind in order:
            runs.append(run(kind, seed, data, vocab_size))
            print(runs[-1], flush=True)
    watch.stop()
    by = {k: [r for r in runs if r["kind"] == k] for k in ("gpt", "llama")}
    gaps = [g["val_loss"] - ll["val_loss"] for g, ll in zip(
        sorted(by["gpt"], key=lambda r: r["seed"]), sorted(by["llama"], key=lambda r: r["seed"]))]
    summary = {k: {"parameters": v[0]["parameters"],
                   "median_val_loss": statistics.median(r["val_loss"] for r in v),
                   "median_steps": statistics.median(r["steps"] for r in v)} for k, v in by.items()}
    data_out = {"budget_cpu_s": BUDGET_S, "seeds": SEEDS, "runs": runs, "summary": summary,
                "median_gap_gpt_minus_llama": statistics.median(gaps),
                "gaps": gaps, **watch.as_dict(), "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llama_vs_gpt.json").write_text(json.dumps(data_out, indent=1) + "\n")
    write_markdown("llama_vs_gpt.md", table(data_out))


def table(data: dict) -> list[str]:
    s = data["summary"]
    rows = ["| Block | Parameters | Steps in the budget (median) | Validation loss, nats (median) | bits/char |",
            "|---|---:|---:|---:|---:|"]
    for name, key in (("GPT-2 (LayerNorm, GELU, learned positions)", "gpt"),
                      ("Llama-style (RMSNorm, SwiGLU, RoPE, GQA)", "llama")):
        r = s[key]
        rows.append(f"| {name} | {r['parameters']:,} | {r['median_steps']:,.0f} | "
                    f"**{r['median_val_loss']:.3f}** | {r['median_val_loss'] / math.log(2):.3f} |")
    busy = (" **Measured on a busy machine** (shared with other jobs): the step counts in the budget"
            " are noisy; rerun on a quiet machine before relying on them."
            if data["busy"] else "")
    rows += ["", f"{data['budget_cpu_s']:.0f} CPU seconds each, {data['seeds']} seeds interleaved, "
             f"one thread; median gap (GPT minus Llama, same seed) "
             f"{data['median_gap_gpt_minus_llama']:+.3f} nats.{busy} [^llama-vs-gpt-run]", "",
             f"[^llama-vs-gpt-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
