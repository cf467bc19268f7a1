"""The mini-BERT of bench_bert_mlm pre-trained with 15%, 30% and 40% of positions masked, at
equal steps, batch and schedule (so equal tokens and equal encoder compute), and every arm
evaluated on the same metric: held-out MLM loss and accuracy with 15% masking and one fixed
mask, on the chapter's held-out plays. Wettig et al. (2023, arXiv:2202.08005) found 40% better
than 15% for BERT-large-sized models; this asks what the chapter's 1M-parameter model does.

One training seed per arm (the budget allows no more); the spread that two evaluation masks
give is reported beside the differences. Writes results/mask_rate.json and results/mask_rate.md.
"""

import json
import multiprocessing
import os
import random
import time

import torch

from benchmarks.bert_common import (HELD_OUT, SEQ_LEN, busy_note, evaluate_mlm, load_play_data, mini_config,
                                    mlm_step_loss, sequences)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertForMaskedLM

STEPS = int(os.environ.get("MASK_RATE_STEPS", 2000))  # per arm: past the shelf bench_bert_mlm shows
RATES = (0.15, 0.30, 0.40)
BATCH, LR, WARMUP, DECAY_SHARE = 32, 1e-3, 100, 0.2   # bench_bert_mlm's settings, step-based here
EVAL_SEEDS = (1234, 4321)                              # two fixed evaluation masks
CURVE_EVERY = 250


def lr_scale(step: int) -> float:
    """Linear warm-up, constant, then a linear decay to zero over the last DECAY_SHARE of STEPS."""
    decay_start = STEPS * (1 - DECAY_SHARE)
    warm = min(1.0, (step + 1) / WARMUP)
    return warm * min(1.0, max(0.0, (STEPS - step) / (STEPS - decay_start)))


def train(rate: float, train_ids: torch.Tensor, test_ids: torch.Tensor,
          data) -> tuple[BertForMaskedLM, dict]:
    torch.manual_seed(0)                                  # the same initial weights for every arm
    model = BertForMaskedLM(mini_config(len(data.tokenizer.itos)))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
    g, rng = torch.Generator().manual_seed(0), random.Random(0)  # the same batches for every arm
    cpu, predictions, running, curve = time.process_time(), 0, None, []
    for step in range(STEPS):
        if step % CURVE_EVERY == 0:  # held-out loss at 15% on 256 sequences: when it leaves the shelf
            curve.append((step, evaluate_mlm(model, test_ids[:256], data)[0]))
        for group in opt.param_groups:
            group["lr"] = LR * lr_scale(step)
        rows = torch.tensor([rng.randrange(len(train_ids)) for _ in range(BATCH)])
        loss, _, n = mlm_step_loss(model, train_ids[rows], data, g, rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        predictions += n
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
    curve.append((STEPS, evaluate_mlm(model, test_ids[:256], data)[0]))
    return model, {"train_loss_own_rate": running, "predictions": predictions, "curve": curve,
                   "cpu_seconds": time.process_time() - cpu}


def arm(rate: float) -> dict:
    """One arm in its own process: train, then evaluate at 15% with each fixed mask."""
    torch.set_num_threads(1)
    data = load_play_data()
    train_names = [n for n in data.play_ids if n not in HELD_OUT]
    test_ids = sequences(data, list(HELD_OUT))
    model, run = train(rate, sequences(data, train_names), test_ids, data)
    evals = [evaluate_mlm(model, test_ids, data, seed=s) for s in EVAL_SEEDS]
    run["test_loss"], run["test_acc"] = [loss for loss, _ in evals], [acc for _, acc in evals]
    run["parameters"] = sum(p.numel() for p in model.parameters())
    print(rate, run, flush=True)
    return run


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    data = load_play_data()
    test_ids = sequences(data, list(HELD_OUT))
    with multiprocessing.get_context("spawn").Pool(len(RATES)) as pool:  # one process an arm
        runs = pool.map(arm, RATES)
    load_after = load_average()
    results = {"steps": STEPS, "batch": BATCH, "rates": list(RATES), "eval_rate": 0.15,
               "test_sequences": len(test_ids), "parameters": runs[0]["parameters"],
               "arms": {f"{rate:.2f}": run for rate, run in zip(RATES, runs)},
               "load_before": load_before, "load_after": load_after, "machine": machine()}
    (RESULTS / "mask_rate.json").write_text(json.dumps(results, indent=1))
    base = results["arms"]["0.15"]
    rows = ["| Masked in training | Predictions per step | Held-out loss at 15% (nats) | "
            "Held-out accuracy at 15% | Loss vs 15% | CPU s |",
            "|---:|---:|---:|---:|---:|---:|"]
    for key, run in results["arms"].items():
        loss, acc = sum(run["test_loss"]) / 2, sum(run["test_acc"]) / 2
        delta = loss - sum(base["test_loss"]) / 2
        rows.append(f"| {float(key):.0%} | {run['predictions'] / STEPS:.0f} | {loss:.3f} | {acc:.2%} | "
                    f"{delta:+.3f} | {run['cpu_seconds']:.0f} |")
    mask_spread = max(abs(r["test_loss"][0] - r["test_loss"][1]) for r in results["arms"].values())
    rows += ["", f"Each arm (in its own process, one torch thread): the mini-BERT ({results['parameters']:,} parameters, 2 layers, width 128) "
             f"from the same initial weights, on the same {STEPS} batches of {BATCH} sequences of {SEQ_LEN} "
             f"WordPiece ids, AdamW lr {LR} with {WARMUP} warm-up steps and a linear decay over the last "
             f"{DECAY_SHARE:.0%} of the steps, 80/10/10 at every rate; one training seed. Evaluation: the "
             f"{len(test_ids):,} held-out sequences ({', '.join(HELD_OUT)}), 15% masked, the mean over two fixed "
             f"masks (they differ by at most {mask_spread:.3f} nats for one model). Equal steps is equal "
             f"encoder compute; the output layer runs at the masked positions only, so a higher rate costs "
             f"more there (the CPU column). {machine()}; load average {load_before} before, "
             f"{load_after} after" + busy_note(load_before, load_after)]
    write_markdown("mask_rate.md", rows)


if __name__ == "__main__":
    main()
