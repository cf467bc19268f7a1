"""Merging two LoRA fine-tunes of one base: task arithmetic, TIES and DARE against each single
model, on both tasks.

Base: the GPT pre-trained on Shakespeare (benchmarks/finetune_common.py). Task A, a new domain:
language modelling of gensim's Lee news corpus. Task B, a new style: Shakespeare written in
capital letters (the same character vocabulary holds both cases). Each task gets its own LoRA
(r = 8, α = 16, on q, k, v, out, up and down of every block), trained for STEPS AdamW steps;
its task vector is the merged weights minus the base weights. Each model is scored by its
validation loss (nats per character) on both tasks, on the same fixed windows. Repeated for
SEEDS seeds (LoRA initialisation and batches); DARE draws its own mask per seed.
Writes results/merging.md and .json.
"""

import copy
import json
import statistics
import time

import torch

from benchmarks.finetune_common import pretrained
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.lora import add_lora, merge_lora
from snippets.adaptation.merging import apply_delta, dare, task_arithmetic, task_vector, ties_merge
from snippets.training.text_data import get_batch

TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"]
R, ALPHA, LR, BATCH, STEPS, SEEDS = 8, 16, 5e-3, 16, 150, 3
EVAL_BATCHES, TIES_KEEP, DARE_DROP = 16, 0.2, 0.9


def fine_tune(base: torch.nn.Module, data: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """A LoRA fine-tune of base on data; returns the merged model's state dict."""
    model = copy.deepcopy(base).train()
    g = torch.Generator().manual_seed(seed)
    add_lora(model, TARGETS, r=R, alpha=ALPHA, generator=g)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR,
                            weight_decay=0.0)
    T = model.config.context_length
    for _ in range(STEPS):
        x, y = get_batch(data, BATCH, T, generator=g)
        loss = model(x, y)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    merge_lora(model)
    state = {}
    for name, tensor in model.state_dict().items():  # drop the adapter's own tensors
        if "lora_" not in name:
            state[name.replace(".base.", ".")] = tensor.detach().clone()
    return state


@torch.no_grad()
def val_loss(base: torch.nn.Module, state: dict[str, torch.Tensor], data: torch.Tensor) -> float:
    model = copy.deepcopy(base).eval()
    model.load_state_dict(state)
    g = torch.Generator().manual_seed(1234)  # the same windows for every model
    T = model.config.context_length
    losses = [model(*get_batch(data, BATCH, T, generator=g))[1].item()
              for _ in range(EVAL_BATCHES)]
    return statistics.fmean(losses)


def main() -> None:
    torch.set_num_threads(1)
    load_before, start = load_average(), time.perf_counter()
    base, tok, data, _ = pretrained()
    upper = torch.tensor(tok.encode(tok.decode(data["shakespeare_train"].tolist()).upper()))
    upper_val = torch.tensor(tok.encode(tok.decode(data["shakespeare_val"].tolist()).upper()))
    tasks = {"news": (data["news_train"], data["news_val"]), "capitals": (upper, upper_val)}
    theta = {k: v.clone() for k, v in base.state_dict().items()}
    runs = []
    for seed in range(SEEDS):
        print(f"seed {seed}: fine-tuning ({time.perf_counter() - start:.0f} s)", flush=True)
        tuned = {name: fine_tune(base, train, seed) for name, (train, _) in tasks.items()}
        deltas = [task_vector(theta, tuned[name]) for name in tasks]
        g = torch.Generator().manual_seed(seed)
        models = {
            "base": theta,
            "news LoRA only": tuned["news"],
            "capitals LoRA only": tuned["capitals"],
            "task arithmetic, λ = 0.5 (mean)": apply_delta(theta, task_arithmetic(deltas), 0.5),
            "task arithmetic, λ = 1 (sum)": apply_delta(theta, task_arithmetic(deltas), 1.0),
            f"TIES, top {TIES_KEEP:.0%}, λ = 1": apply_delta(theta, ties_merge(deltas, TIES_KEEP)),
            f"DARE p = {DARE_DROP}, then sum": apply_delta(
                theta, task_arithmetic([dare(d, DARE_DROP, g) for d in deltas])),
        }
        runs.append({name: {task: val_loss(base, state, val) for task, (_, val) in tasks.items()}
                     for name, state in models.items()})
    seconds = time.perf_counter() - start
    names = list(runs[0])
    summary = {name: {task: {"mean": statistics.fmean(r[name][task] for r in runs),
                             "min": min(r[name][task] for r in runs),
                             "max": max(r[name][task] for r in runs)} for task in tasks}
               for name in names}
    load_after = load_average()
    rows = ["| Model | News loss (nats/char) | Capitals loss (nats/char) |", "|---|---:|---:|"]
    for name in names:
        cells = [f"{summary[name][t]['mean']:.3f} ({summary[name][t]['min']:.3f}–"
                 f"{summary[name][t]['max']:.3f})" for t in tasks]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    lines = rows + ["", f"Mean (min–max) over {SEEDS} seeds of validation loss on {EVAL_BATCHES} "
                    f"fixed batches of {BATCH} windows. LoRA r = {R}, α = {ALPHA} on "
                    f"{', '.join(TARGETS)}; AdamW lr {LR:g}, {STEPS} steps of {BATCH} windows "
                    f"per task. {machine()}; {seconds:.0f} s; load average {load_before} before "
                    f"and {load_after} after"
                    + (" (above the 2 cores: the machine was shared)." if busy else ".")]
    write_markdown("merging.md", lines)
    (RESULTS / "merging.json").write_text(json.dumps(
        {"summary": summary, "runs": runs, "seeds": SEEDS, "steps": STEPS, "rank": R,
         "alpha": ALPHA, "ties_keep": TIES_KEEP, "dare_drop": DARE_DROP,
         "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
