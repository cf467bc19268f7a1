"""Recall@10 against bytes per vector for int8, product and binary quantisation of MiniLM vectors.

Reads the file that `python -m benchmarks retrieval_compression` writes; draws a note if it is missing.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "retrieval_compression.json"
FAMILIES = (("PQ,", "o-", "PQ, ours"), ("IVF-PQ", "^", "IVF-PQ (M = 32)"), ("binary", "s", "1-bit"),
            ("int8", "D", "int8"), ("float32", "*", "float32"))


def draw() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    if not RESULTS.exists():
        ax.text(0.5, 0.5, "run: python -m benchmarks retrieval_compression", ha="center", va="center")
        return fig
    rows = json.loads(RESULTS.read_text())["rows"]
    for prefix, style, label in FAMILIES:
        chosen = [r for r in rows if r["method"].startswith(prefix)]
        ax.plot([r["bytes"] for r in chosen], [r["recall"] for r in chosen], style, ms=7, label=label)
    pq = [r for r in rows if "faiss_recall" in r]
    ax.plot([r["bytes"] for r in pq], [r["faiss_recall"] for r in pq], "x--", ms=7, label="PQ, faiss")
    for r in rows:
        if r["method"].startswith("binary,") and "rescored" in r["method"]:
            ax.annotate("rescored", (r["bytes"], r["recall"]), textcoords="offset points", xytext=(6, -4), fontsize=10)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector (log scale)", fontsize=11)
    ax.set_ylabel("recall@10", fontsize=11)
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    return fig
