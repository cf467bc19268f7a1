"""Validation loss against wall time for both recipes, read from results/train_shakespeare.json."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "train_shakespeare.json"


def draw() -> Figure:
    result = json.loads(RESULTS.read_text())
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key, label in (("baseline", "reference recipe (our trainer)"),
                       ("fast", "shakespeare-fast")):
        rows = result[key]["history"]
        ax.plot([r["t"] for r in rows], [r["val_loss"] for r in rows], marker="o", label=label)
    ax.axhline(result["target"], color="grey", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("validation loss (nats / char)")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
