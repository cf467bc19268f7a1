"""Anisotropy by layer of MiniLM and of an MLM-only mini-BERT, raw and after centring,
all-but-the-top and whitening.

Reads results/embeddings_anisotropy.json, which `python -m benchmarks embeddings_anisotropy`
writes (400 lines of the plays; every token of every line is a sample); draws a note if it is
missing.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "embeddings_anisotropy.json"
CURVES = {"raw": "raw", "centred": "centred", "all_but_the_top": "all-but-the-top (3)", "whitened": "whitened"}


def draw() -> plt.Figure:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    encoders = {name: r for name, r in data.items() if isinstance(r, dict) and "tokens" in r}
    if not encoders:
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        ax.text(0.5, 0.5, "run: python -m benchmarks embeddings_anisotropy", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, axes = plt.subplots(1, len(encoders), figsize=(3.4 * len(encoders), 3.6), sharey=True, squeeze=False)
    for ax, (name, r) in zip(axes[0], encoders.items()):
        layers = [row["layer"] for row in r["tokens"]]
        for key, label in CURVES.items():
            ax.plot(layers, [row[key] for row in r["tokens"]], marker="o", lw=2.2 if key == "raw" else 1.2,
                    label=label)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xticks(layers)
        ax.set_xlabel("layer (0 = input embeddings)")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean cosine of random token pairs")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Anisotropy by layer, and the post-hoc fixes", fontsize=11)
    fig.tight_layout()
    return fig
