"""What truncated BPTT cannot learn (chapter 1): delayed recall with delay d, trained with
truncation k, for k on both sides of d. Writes results/rnn_truncation.{json,md}."""

import json
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.truncated_bptt import train_delayed_recall

DELAY, STEPS, LENGTH, SYMBOLS = 4, 300, 24, 8
KS = [2, 4, 5, 8, 24]


def run(k: int) -> float:
    torch.set_num_threads(1)
    return train_delayed_recall(DELAY, k, steps=STEPS, length=LENGTH, n_symbols=SYMBOLS)


def main() -> None:
    load_before = load_average()
    with ProcessPoolExecutor(2) as pool:
        accuracy = dict(zip(KS, pool.map(run, KS)))
    rows = ["| Truncation k | k > d? | Recall accuracy |", "|---:|:---:|---:|"]
    rows += [f"| {k} | {'yes' if k > DELAY else 'no'} | {acc:.3f} |" for k, acc in accuracy.items()]
    rows += ["", f"Delay d = {DELAY}, {SYMBOLS} symbols (chance {1 / SYMBOLS:.3f}), sequences of "
             f"{LENGTH}, an LSTM of width 32, {STEPS} Adam steps of batch 32 at lr 1e-2; accuracy "
             f"on 256 fresh sequences, run without truncation. k = {LENGTH} is full BPTT. "
             f"[^truncation-run]", "",
             f"[^truncation-run]: {machine()}; load average {load_before} before."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rnn_truncation.json").write_text(json.dumps(
        {"delay": DELAY, "accuracy": accuracy, "chance": 1 / SYMBOLS}, indent=1) + "\n")
    write_markdown("rnn_truncation.md", rows)


if __name__ == "__main__":
    main()
