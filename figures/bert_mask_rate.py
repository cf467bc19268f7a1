"""Held-out MLM loss (15% masked) of the mini-BERT trained with 15%, 30% and 40% of positions
masked, against steps (benchmarks/bench_mask_rate.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "mask_rate.json"


def curves() -> dict[str, tuple[list[int], list[float]]]:
    """Label -> (steps, held-out loss) for each arm, from the results file."""
    results = json.loads(RESULTS.read_text())
    return {f"{float(rate):.0%} masked in training": ([s for s, _ in arm["curve"]],
                                                      [loss for _, loss in arm["curve"]])
            for rate, arm in results["arms"].items()}


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, (steps, losses) in curves().items():
        ax.plot(steps[1:], losses[1:], marker=".", label=label)  # step 0 is the uniform guess
    ax.set_xlabel("optimiser step (batch 32)", fontsize=11)
    ax.set_ylabel("held-out loss at 15% masking (nats)", fontsize=11)
    ax.legend(fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
