"""A mixture of experts against a dense model of equal active parameters, at equal steps
(chapter 5).

Two Llama-style character models on tiny Shakespeare (4 layers, width 128, 4 query and 2
key/value heads): a dense SwiGLU FFN of width 384 in every block, and a mixture of 4 SwiGLU
experts of width 192 with top-2 routing (Mixtral's recipe: softmax over all experts, top 2,
renormalised). Each token runs 2 x 192 = 384 hidden units in both, so the active parameters per
token are equal (the router's 128 x 4 weights aside); the mixture stores twice the FFN
parameters. Both train for the same number of steps with the same recipe, data order and seed;
the mixture adds the load-balancing loss (coefficient 0.01, as Switch Transformers) to its
cross-entropy. Reported: validation loss after the steps (100 fixed batches; the median over
the seeds), the CPU time per step, and the share of the assignments that each expert received
over the validation batches (the balance).

BENCH_STEPS (default 1500) and BENCH_SEEDS (default 3) shorten or lengthen the run.
Writes results/moe_vs_dense.{json,md}.
"""

import json
import os
import statistics
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from benchmarks.shakespeare import characters
from snippets.layers.moe import load_balancing_loss, tokens_per_expert
from snippets.models.llama import Llama, LlamaConfig, llama_parameters
from snippets.training.loop import TrainConfig, evaluate, make_optimizer
from snippets.training.schedule import lr_at
from snippets.training.text_data import get_batch

STEPS = int(os.environ.get("BENCH_STEPS", 1500))
SEEDS = int(os.environ.get("BENCH_SEEDS", 3))
CONTEXT, BATCH, LR, AUX = 64, 16, 4e-3, 0.01
SHAPE = dict(context_length=CONTEXT, n_layers=4, n_heads=4, n_kv_heads=2, d_model=128)
CONFIGS = {"dense": dict(d_ff=384), "moe": dict(d_ff=192, n_experts=4, top_k=2)}


def run(kind: str, seed: int, data: tuple[torch.Tensor, torch.Tensor], vocab_size: int) -> dict:
    train_data, val_data = data
    config = LlamaConfig(vocab_size=vocab_size, **SHAPE, **CONFIGS[kind])
    recipe = TrainConfig(batch_size=BATCH, max_steps=STEPS, lr=LR, min_lr=LR / 10,
                         warmup_steps=50, seed=seed)
    torch.manual_seed(seed)
    model = Llama(config)
    optimizer = make_optimizer(model, recipe)
    batches = torch.Generator().manual_seed(seed)
    cpu0 = time.process_time()
    for step in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, max_lr=LR, min_lr=LR / 10, warmup_steps=50, total_steps=STEPS)
        x, y = get_batch(train_data, BATCH, CONTEXT, batches)
        _, loss = model(x, y)
        if config.n_experts:  # one balancing loss over every layer's tokens, as transformers
            loss = loss + AUX * load_balancing_loss(torch.cat(model.router_logits()), config.top_k)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    cpu = time.process_time() - cpu0
    val = evaluate(model, val_data, BATCH, CONTEXT, iters=100, seed=4321)
    shares = None
    if config.n_experts:  # which experts the validation tokens went to, per layer
        counts = torch.zeros(config.n_layers, config.n_experts)
        gen = torch.Generator().manual_seed(4321)
        model.eval()
        with torch.no_grad():
            for _ in range(20):
                x, _ = get_batch(val_data, BATCH, CONTEXT, gen)
                model(x)
                for layer, logits in enumerate(model.router_logits()):
                    counts[layer] += tokens_per_expert(logits, config.top_k)
        shares = (counts / counts.sum(-1, keepdim=True)).tolist()
    return {"kind": kind, "seed": seed, "parameters": llama_parameters(config),
            "steps": STEPS, "cpu_s_per_step": round(cpu / STEPS, 4), "val_loss": val,
            "expert_shares": shares}


def active_parameters(kind: str, vocab_size: int) -> int:
    """Parameters one token runs through: every weight but the experts it was not routed to."""
    config = LlamaConfig(vocab_size=vocab_size, **SHAPE, **CONFIGS[kind])
    if not config.n_experts:
        return llama_parameters(config)
    idle = config.n_layers * (config.n_experts - config.top_k) * 3 * config.d_model * config.d_ff
    return llama_parameters(config) - idle


def main() -> None:
    torch.set_num_threads(1)
    data, vocab_size = characters()
    watch = LoadWatch()
    runs = []
    for seed in range(SEEDS):  # interleaved: the first to run alternates
        for kind in (("dense", "moe") if seed % 2 == 0 else ("moe", "dense")):
            runs.append(run(kind, seed, data, vocab_size))
            print({k: v for k, v in runs[-1].items() if k != "expert_shares"}, flush=True)
    watch.stop()
    summary = {}
    for kind in CONFIGS:
        mine = [r for r in runs if r["kind"] == kind]
        summary[kind] = {"parameters": mine[0]["parameters"],
                         "active_parameters": active_parameters(kind, vocab_size),
                         "median_val_loss": statistics.median(r["val_loss"] for r in mine),
                         "median_cpu_s_per_step": statistics.median(r["cpu_s_per_step"] for r in mine)}
    shares = [r["expert_shares"] for r in runs if r["kind"] == "moe"]
    largest = statistics.median(max(max(layer) for layer in s) for s in shares)
    out = {"steps": STEPS, "seeds": SEEDS, "aux_coef": AUX, "runs": runs, "summary": summary,
           "median_largest_expert_share": largest, **watch.as_dict(), "load_line": watch.line(),
           "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "moe_vs_dense.json").write_text(json.dumps(out, indent=1) + "\n")
    write_markdown("moe_vs_dense.md", table(out))


def table(data: dict) -> list[str]:
    s = data["summary"]
    rows = ["| FFN | Parameters (total) | Active per token | Validation loss, nats (median) | CPU ms per step (median) |",
            "|---|---:|---:|---:|---:|"]
    for name, key in (("dense SwiGLU, width 384", "dense"),
                      ("4 experts of width 192, top-2", "moe")):
        r = s[key]
        rows.append(f"| {name} | {r['parameters']:,} | {r['active_parameters']:,} | "
                    f"**{r['median_val_loss']:.3f}** | {1000 * r['median_cpu_s_per_step']:.0f} |")
    busy = (" **Measured on a busy machine** (shared with other jobs): the times per step are noisy;"
            " rerun on a quiet machine before relying on them."
            if data["busy"] else "")
    rows += ["", f"{data['steps']:,} steps each, {data['seeds']} seeds interleaved, one thread; "
             f"balancing-loss coefficient {data['aux_coef']}. The busiest expert of any layer took "
             f"{data['median_largest_expert_share']:.0%} of its layer's assignments (median over "
             f"seeds; 25% is a fair share, 50% the most that top-2 allows).{busy} [^moe-vs-dense-run]", "",
             f"[^moe-vs-dense-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
