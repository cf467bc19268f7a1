"""Train the small encoder-decoder to reverse digit strings (lengths 3-10) on the CPU and measure
its exact-match accuracy on held-out strings, with the wall time of the whole run (training and
evaluation). Goal (chapter 3): at least 99% held-out exact match within 2 minutes on 2 cores.

Writes results/seq2seq_toy.md (the transformer page includes it) and results/seq2seq_toy.json.
"""

import json
import time
from datetime import datetime, timezone

import torch

from benchmarks.report import RESULTS, LoadWatch, load_average, machine, write_markdown
from snippets.models.seq2seq import (Seq2SeqConfig, count_parameters, exact_match, is_held_out, reverse_batch,
                                     train_reverse)

GOAL_ACCURACY = 0.99
GOAL_SECONDS = 120.0
# The recipe (see the page): the paper's Adam and warm-up, then a straight line down to zero
# instead of 1/sqrt(step), and no label smoothing.
RECIPE = dict(steps=650, batch=64, min_len=3, max_len=10, warmup=100, lr_scale=1.0, smoothing=0.0, seed=0,
              decay="linear")
EVAL_STRINGS, EVAL_SEED = 10_000, 123
DECAY = {"linear": "a straight line down to zero at the last step", "noam": "the paper's 1/sqrt(step) decay"}


def training_strings(steps: int, batch: int, min_len: int, max_len: int, seed: int) -> set[tuple[int, ...]]:
    """Every source string the training loop saw: the same generator stream, the same filter."""
    g = torch.Generator().manual_seed(seed)
    seen = set()
    for _ in range(steps):
        src, _, _ = reverse_batch(batch, min_len, max_len, g)
        seen.update(map(tuple, src[~is_held_out(src)].tolist()))
    return seen


def main() -> None:
    cfg = Seq2SeqConfig()
    watch = LoadWatch()
    load_start = load_average()
    start = time.perf_counter()
    model, losses = train_reverse(cfg, **RECIPE)
    train_s = time.perf_counter() - start
    src, _, tgt_out = reverse_batch(EVAL_STRINGS, RECIPE["min_len"], RECIPE["max_len"],
                                    torch.Generator().manual_seed(EVAL_SEED))
    held = is_held_out(src)  # strings the training loop never saw
    with torch.no_grad():
        accuracy = exact_match(model, src[held], tgt_out[held])
        lengths = (src[held] != cfg.pad_id).sum(dim=1)
        by_length = {int(n): exact_match(model, src[held][lengths == n], tgt_out[held][lengths == n])
                     for n in lengths.unique()}
    wall_s = time.perf_counter() - start
    watch.stop()

    # is "held-out" really unseen? check against the strings the loop actually trained on
    seen = training_strings(RECIPE["steps"], RECIPE["batch"], RECIPE["min_len"], RECIPE["max_len"], RECIPE["seed"])
    leaked = sum(tuple(s) in seen for s in src[held].tolist())
    trained = RECIPE["steps"] * RECIPE["batch"]
    met = accuracy >= GOAL_ACCURACY and wall_s <= GOAL_SECONDS
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    n_held = int(held.sum())
    worst = min(by_length, key=by_length.get)

    lines = [
        "| Measurement | Value |",
        "|---|---:|",
        f"| Held-out exact match | **{accuracy:.2%}** of {n_held:,} strings |",
        f"| Wall time, training and evaluation | **{wall_s:.1f} s** (training {train_s:.1f} s) |",
        f"| Goal: at least {GOAL_ACCURACY:.0%} within {GOAL_SECONDS:.0f} s | {'met' if met else '**not met**'} |",
        f"| Weakest length | {worst} digits: {by_length[worst]:.2%} |" if by_length[worst] < 1 else
        f"| Weakest length | none: every length from {min(by_length)} to {max(by_length)} digits at 100% |",
        f"| Final training loss | {losses[-1]:.4f} |",
        f"| Held-out strings that the training loop saw | {leaked} |",
        "",
        f"Recipe: {count_parameters(model):,} parameters (C = {cfg.d_model}, {cfg.n_heads} heads, "
        f"{cfg.n_encoder_layers} + {cfg.n_decoder_layers} layers), {RECIPE['steps']:,} steps of "
        f"{RECIPE['batch']} strings of {RECIPE['min_len']} to {RECIPE['max_len']} digits "
        f"({trained:,} drawn, the held-out tenth filtered out of each batch), {RECIPE['warmup']} warm-up steps "
        f"to the paper's peak (scale {RECIPE['lr_scale']:g}) then {DECAY[RECIPE['decay']]}, Adam(0.9, 0.98), label smoothing "
        f"{RECIPE['smoothing']:g}, seed {RECIPE['seed']}; evaluated by greedy decoding on the held-out "
        f"strings among {EVAL_STRINGS:,} drawn with seed {EVAL_SEED}. One run, {stamp}.",
        "",
        machine(),
        "",
        watch.line() + f" All three averages at the start: {load_start}; at the end: {load_average()}.",
    ]
    write_markdown("seq2seq_toy.md", lines)
    (RESULTS / "seq2seq_toy.json").write_text(json.dumps({
        "date": stamp, "machine": machine(), "load": watch.as_dict(), "load_start": load_start,
        "load_end": load_average(), "recipe": RECIPE, "parameters": count_parameters(model),
        "held_out_exact_match": accuracy, "held_out_strings": n_held,
        "by_length": {str(k): v for k, v in by_length.items()}, "wall_s": wall_s, "train_s": train_s,
        "final_loss": losses[-1], "held_out_seen_in_training": leaked,
        "goal": {"accuracy": GOAL_ACCURACY, "seconds": GOAL_SECONDS, "met": met}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
