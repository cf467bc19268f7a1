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
import time

import torch

from benchmarks.finetune_common import pretrained
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.freezing import freeze_bottom, trainable_parameters
from snippets.adaptation.lora import add_lora
from snippets.training.loop import TrainConfig, TrainState, evaluate, param_groups, train

STEPS, EVERY, EVAL_ITERS, BATCH = 300, 25, 10, 16
TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"]


def methods(base):
    """(name, model, peak lr, training stream) for each method."""
    def full(m):
        return m

    def lora(r):
        def make(m):
            add_lora(m, TARGETS, r=r, alpha=2 * r, generator=torch.Generator().manual_seed(0))
            return m
        return make

    def frozen(m):
        freeze_bottom(m, m.config.n_layers // 2)
        return m

    return [("full fine-tuning", full, 1e-3, False),
            ("LoRA r=4", lora(4), 1e-2, False),
            ("LoRA r=64", lora(64), 3e-3, False),
            ("bottom half frozen", frozen, 1e-3, False),
            ("full + 25% rehearsal", full, 1e-3, True)]


def main() -> None:
    load_before = load_average()
    base, tok, data, info = pretrained()
    T = base.config.context_length

    def losses(model) -> tuple[float, float]:
        return (evaluate(model, data["shakespeare_val"], BATCH, T, EVAL_ITERS, seed=7),
                evaluate(model, data["news_val"], BATCH, T, EVAL_ITERS, seed=7))

    start_a, start_b = losses(base)
    news, shakes = data["news_train"], data["shakespeare_train"]
    rehearsal = torch.cat([news, shakes[: len(news) // 3]])  # 3 : 1 news to Shakespeare
    runs = []
    for name, make, lr, rehearse in methods(base):
        model = make(copy.deepcopy(base))
        recipe = TrainConfig(batch_size=BATCH, max_steps=STEPS, lr=lr, min_lr=lr / 10,
                             warmup_steps=20, weight_decay=0.0, eval_interval=EVERY,
                             eval_iters=EVAL_ITERS)
        optimizer = torch.optim.AdamW(param_groups(model, 0.0), lr=lr, betas=recipe.betas)
        curve = [{"step": 0, "shakespeare": start_a, "news": start_b}]

        def on_eval(row: dict, model=model, curve=curve) -> None:
            a, b = losses(model)
            curve.append({"step": row["step"], "shakespeare": a, "news": b})

        t0 = time.perf_counter()
        train(model, optimizer, rehearsal if rehearse else news, data["news_val"], recipe,
              TrainState.fresh(0), on_eval=on_eval)
        runs.append({"method": name, "lr": lr, "trainable": trainable_parameters(model),
                     "seconds": time.perf_counter() - t0, "curve": curve})
        print(name, curve[-1], flush=True)
    load_after = load_average()
    rows = ["| Method | Trainable parameters | Peak lr | Shakespeare loss (forgetting) | "
            "News loss (learning) | Forgetting / learning |",
            "|---|---:|---:|---:|---:|---:|"]
    for run in runs:
        end = run["curve"][-1]
        forget, learn = end["shakespeare"] - start_a, start_b - end["news"]
        run |= {"forgetting": forget, "learning": learn}
        rows.append(f"| {run['method']} | {run['trainable']:,} | {run['lr']:g} | "
                    f"{end['shakespeare']:.3f} (+{forget:.3f}) | {end['news']:.3f} (−{learn:.3f}) | "
                    f"{forget / learn:.2f} |")
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    lines = rows + ["", f"Before fine-tuning: Shakespeare validation loss {start_a:.3f}, news "
                    f"validation loss {start_b:.3f} (nats per character). Pre-training: "
                    f"{info['steps']} steps of the `shakespeare-fast` recipe's model (the preset "
                    f"runs 1,250), validation loss {info['val_loss']:.3f}. Fine-tuning: {STEPS} "
                    f"steps of batch {BATCH} x {T} characters, warm-up 20 steps then cosine to "
                    f"lr/10, no weight decay; losses on {EVAL_ITERS} fixed validation batches. "
                    f"{machine()}; load average {load_before} before and {load_after} after"
                    + (" (above the 2 cores: the machine was shared)." if busy else ".")]
    write_markdown("finetune_forgetting.md", lines)
    (RESULTS / "finetune_forgetting.json").write_text(json.dumps(
        {"start": {"shakespeare": start_a, "news": start_b}, "pretrain": info, "runs": runs},
        indent=1))


if __name__ == "__main__":
    main()
