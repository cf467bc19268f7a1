"""Recall@10 against query time for our HNSW and IVF beside hnswlib and faiss (results/retrieval_ann.json).

Reads the file that `python -m benchmarks retrieval_ann` writes; draws a note if it is missing.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "retrieval_ann.json"


def draw() -> plt.Figure:
    sets = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    fig, axes = plt.subplots(1, max(1, len(sets)), figsize=(4.5 * max(1, len(sets)), 3.8), sharey=True,
                             squeeze=False)
    axes = axes[0]
    if not sets:
        axes[0].text(0.5, 0.5, "run: python -m benchmarks retrieval_ann", ha="center", va="center")
        return fig
    for ax, s in zip(axes, sets):
        h, v = s["hnsw"], s["ivf"]
        ax.plot([r["ours_ms"] for r in h], [r["ours_recall"] for r in h], "o-", label="HNSW, ours (Python)")
        ax.plot([r["hnswlib_ms"] for r in h], [r["hnswlib_recall"] for r in h], "s-", label="HNSW, hnswlib")
        ax.plot([r["ours_ms"] for r in v], [r["ours_recall"] for r in v], "^--", label="IVF, ours (NumPy)")
        ax.plot([r["faiss_ms"] for r in v], [r["faiss_recall"] for r in v], "v--", label="IVF, faiss")
        ax.axvline(s["exact_batched_ms"], color="black", lw=1, ls=":", label="exact, batched (recall 1)")
        ax.set_xscale("log")
        ax.set_xlabel("ms per query (log scale)")
        ax.set_title(f"{s['name']} ({s['n']:,} x {s['dim']})", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recall@10")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig
