"""Validation loss against wall time for each run, read from results/train_shakespeare.json."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "train_shakespeare.json"


def draw() -> Figure:
    result = json.loads(RESULTS.read_text())
    fig, ax = plt.subplots(figsize=(7, 3.2))
    runs = [("baseline", "reference recipe, our trainer"),
            ("tuned", f"same configuration, lr {result['tuned']['config']['lr']:g}"),
            ("fast", "shakespeare-fast (Muon)")]
    if "adamw_recipe" in result:  # the ablation: the AdamW recipe shakespeare-fast replaced
        runs.append(("adamw_recipe", "AdamW recipe, batch 16, lr 0.004"))
    if "history" in result["reference"]:  # nanoGPT was run beside ours
        runs.insert(0, ("reference", "nanoGPT, its own trainer"))
    for key, label in runs:
        rows = result[key]["history"]
        ax.plot([r["t"] for r in rows], [r["val_loss"] for r in rows], marker="o", markersize=3,
                label=label)
    ax.axhline(result["target"], color="grey", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("validation loss (nats / char)")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
