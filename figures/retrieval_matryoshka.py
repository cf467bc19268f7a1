"""Recall@10 on held-out questions against the number of dimensions kept, for four ways of cutting MiniLM's vectors.

Reads the file that `python -m benchmarks retrieval_matryoshka` writes; draws a note if it is missing.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "retrieval_matryoshka.json"
STYLES = {"plain truncation": ("o-", "plain truncation of MiniLM"),
          "PCA rotation": ("s:", "PCA rotation, then truncation"),
          "control (full-dimension loss)": ("^--", "control: trained on the full vector only"),
          "Matryoshka": ("D-", "Matryoshka: trained on every prefix"),
          "Matryoshka, from the PCA rotation": ("v-.", "Matryoshka, started at the PCA rotation")}


def draw() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    if not RESULTS.exists():
        ax.text(0.5, 0.5, "run: python -m benchmarks retrieval_matryoshka", ha="center", va="center")
        return fig
    data = json.loads(RESULTS.read_text())
    dims = data["dims"]
    for name, (style, label) in STYLES.items():
        ax.plot(dims, [data["results"][name][str(m)]["recall@10"] for m in dims], style, ms=6, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(m) for m in dims])
    ax.set_xlabel("dimensions kept, m (log scale)", fontsize=11)
    ax.set_ylabel(f"recall@10, {data['test_questions']} held-out questions", fontsize=11)
    ax.set_ylim(0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    return fig
