"""Forgetting against learning: both validation losses during fine-tuning, per method, read
from results/finetune_forgetting.json (written by benchmarks/bench_finetune_forgetting.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "finetune_forgetting.json"


def pending() -> Figure:
    """Drawn until the benchmark has written its results (a fresh clone builds too)."""
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, "benchmark not run yet: python -m benchmarks finetune_forgetting",
            ha="center", va="center")
    return fig


def draw() -> Figure:
    if not RESULTS.exists():
        return pending()
    result = json.loads(RESULTS.read_text())
    fig, (old, new) = plt.subplots(1, 2, figsize=(8, 3.4), sharex=True)
    for run in result["runs"]:
        steps = [p["step"] for p in run["curve"]]
        old.plot(steps, [p["shakespeare"] for p in run["curve"]], marker="o", markersize=2.5,
                 label=run["method"])
        new.plot(steps, [p["news"] for p in run["curve"]], marker="o", markersize=2.5)
    old.set_title("Shakespeare (old text): forgetting", fontsize=10)
    new.set_title("news (new text): learning", fontsize=10)
    for ax in (old, new):
        ax.set_xlabel("fine-tuning step")
        ax.spines[["top", "right"]].set_visible(False)
    old.set_ylabel("validation loss (nats / char)")
    old.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
