"""Catastrophic forgetting: pre-train a GPT on Shakespeare, fine-tune it on modern news.

Five ways to fine-tune for the same number of steps: full fine-tuning, LoRA at ranks 4 and
64 (on every attention and MLP projection), the bottom half of the blocks frozen, and full
fine-tuning with rehearsal (a quarter of the training stream is Shakespeare). Every 25
steps both validation losses are measured on fixed batches. Forgetting is the rise of the
Shakespeare loss; learning is the fall of the news loss. Writes results/finetune_forgetting.md
and .json (the figure figures/finetune_forgetting.py reads the curves).
"""

import copy
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.finetune_common import pretrained
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.freezing import freeze_bottom, trainable_parameters
from snippets.adaptation.lora import add_lora, lora_layers
from snippets.training.loop import TrainConfig, TrainState, evaluate, param_groups, train

STEPS, EVERY, EVAL_ITERS, BATCH = 200, 25, 6, 16
TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"]


def make_model(base, name: str):
    """A copy of the pre-trained model prepared for one method."""
    model = copy.deepcopy(base)
    if name.startswith("LoRA"):
        r = int(name.split("=")[1])
        add_lora(model, TARGETS, r=r, alpha=2 * r, generator=torch.Generator().manual_seed(0))
    elif name == "bottom half frozen":
        freeze_bottom(model, model.config.n_layers // 2)
    return model


METHODS = [  # name, peak lr, rehearsal
    ("full fine-tuning", 1e-3, False),
    ("LoRA r=4", 1e-2, False),
    ("LoRA r=64", 3e-3, False),
    ("bottom half frozen", 1e-3, False),
    ("full + 25% rehearsal", 1e-3, True),
]


def losses(model, data, T: int) -> tuple[float, float]:
    return (evaluate(model, data["shakespeare_val"], BATCH, T, EVAL_ITERS, seed=7),
            evaluate(model, data["news_val"], BATCH, T, EVAL_ITERS, seed=7))


def run_method(index: int) -> dict:
    """Fine-tune with METHODS[index]; runs in its own process, one torch thread."""
    torch.set_num_threads(1)
    name, lr, rehearse = METHODS[index]
    base, _, data, _ = pretrained()
    T = base.config.context_length
    start_a, start_b = losses(base, data, T)
    news, shakes = data["news_train"], data["shakespeare_train"]
    stream = torch.cat([news, shakes[: len(news) // 3]]) if rehearse else news  # 3 : 1
    model = make_model(base, name)
    recipe = TrainConfig(batch_size=BATCH, max_steps=STEPS, lr=lr, min_lr=lr / 10,
                         warmup_steps=20, weight_decay=0.0, eval_interval=EVERY,
                         eval_iters=EVAL_ITERS)
    optimizer = torch.optim.AdamW(param_groups(model, 0.0), lr=lr, betas=recipe.betas)
    curve = [{"step": 0, "shakespeare": start_a, "news": start_b}]

    def on_eval(row: dict) -> None:
        a, b = losses(model, data, T)
        curve.append({"step": row["step"], "shakespeare": a, "news": b})

    t0 = time.perf_counter()
    train(model, optimizer, stream, data["news_val"], recipe, TrainState.fresh(0),
          on_eval=on_eval)
    lost = None
    if name.startswith("LoRA"):  # what a bf16 merge of this trained adapter would erase
        kept = total = 0
        for layer in lora_layers(model):
            W, delta = layer.base.weight.detach(), layer.delta_weight().detach()
            W16 = W.to(torch.bfloat16).float()
            landed = (W16 + delta).to(torch.bfloat16).float() - W16
            kept += int(((landed != 0) | (delta == 0)).sum())
            total += delta.numel()
        lost = 1 - kept / total
    return {"method": name, "lr": lr, "trainable": trainable_parameters(model),
            "seconds": time.perf_counter() - t0, "curve": curve, "bf16_lost": lost,
            "start": (start_a, start_b)}


def main() -> None:
    load_before = load_average()
    base, tok, data, info = pretrained()  # trains once and caches, before the workers start
    T = base.config.context_length
    # five independent runs: one process each (the machine is shared; each uses one thread)
    with ProcessPoolExecutor(len(METHODS), mp_context=mp.get_context("spawn")) as pool:
        runs = list(pool.map(run_method, range(len(METHODS))))
    start_a, start_b = runs[0]["start"]
    load_after = load_average()
    rows = ["| Method | Trainable parameters | Peak lr | Shakespeare loss (forgetting) | "
            "News loss (learning) | Forgetting / learning |",
            "|---|---:|---:|---:|---:|---:|"]
    for run in runs:
        end = run["curve"][-1]
        forget, learn = end["shakespeare"] - start_a, start_b - end["news"]
        run |= {"forgetting": forget, "learning": learn}
        rows.append(f"| {run['method']} | {run['trainable']:,} | {run['lr']:g} | "
                    f"{end['shakespeare']:.3f} ({forget:+.3f}) | "
                    f"{end['news']:.3f} ({-learn:+.3f}) | "
                    f"{forget / learn:.2f} |")
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    lines = rows + ["", f"Before fine-tuning: Shakespeare validation loss {start_a:.3f}, news "
                    f"validation loss {start_b:.3f} (nats per character). Pre-training: "
                    f"{info['steps']} steps of the `shakespeare-fast` recipe's model (the preset "
                    f"runs 1,250), validation loss {info['val_loss']:.3f}. Fine-tuning: {STEPS} "
                    f"steps of batch {BATCH} x {T} characters, warm-up 20 steps then cosine to "
                    f"lr/10, no weight decay; losses on {EVAL_ITERS} fixed validation batches; "
                    f"each method in its own process with one torch thread. Merging the trained "
                    f"adapters into bf16 weights would erase "
                    + " and ".join(f"{r['bf16_lost']:.1%} ({r['method']})" for r in runs
                                   if r["bf16_lost"] is not None)
                    + " of their ΔW entries. "
                    f"{machine()}; load average {load_before} before and {load_after} after"
                    + (" (above the 2 cores: the machine was shared)." if busy else ".")]
    write_markdown("finetune_forgetting.md", lines)
    (RESULTS / "finetune_forgetting.json").write_text(json.dumps(
        {"start": {"shakespeare": start_a, "news": start_b}, "pretrain": info, "runs": runs},
        indent=1))


if __name__ == "__main__":
    main()
