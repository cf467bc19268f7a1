"""Test accuracy of every seed under each fine-tuning recipe, with the majority-class line
(benchmarks/bench_finetune_stability.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "finetune_stability.json"


def spread() -> tuple[dict[str, list[float]], float]:
    """Recipe -> accuracy of each seed, and the majority-class accuracy."""
    results = json.loads(RESULTS.read_text())
    return {name: arm["accuracies"] for name, arm in results["arms"].items()}, results["majority"]


def draw() -> Figure:
    arms, majority = spread()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (name, accs) in enumerate(arms.items()):
        ax.scatter([100 * a for a in accs], [i] * len(accs), s=28, alpha=0.7, label=name)
    ax.axvline(100 * majority, color="grey", linestyle="--", linewidth=1)
    ax.text(100 * majority, -0.6, " majority class", color="grey", fontsize=9)
    ax.set_yticks(range(len(arms)), list(arms), fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy of one seed (%)", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
