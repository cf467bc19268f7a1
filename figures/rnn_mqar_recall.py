"""The recall limit, measured (chapter 1): MQAR accuracy against the number of key-value pairs
for softmax attention, linear attention and a selective SSM of about equal parameters, from
results/mqar.json (benchmarks/bench_mqar.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "mqar.json"


def draw() -> Figure:
    data = json.loads(RESULTS.read_text())
    fig, ax = plt.subplots(figsize=(6, 4))
    for run, marker in zip(data["runs"], ["o", "s", "^"]):
        pairs = data["pairs"]
        ax.plot(pairs, [100 * run["accuracy"][str(n)] for n in pairs], marker=marker, lw=2.2,
                label=f"{run['kind']} ({run['mixer_parameters']:,} mixer parameters)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(data["pairs"], [str(n) for n in data["pairs"]])
    ax.set_ylim(0, 102)
    ax.set_xlabel("key-value pairs in the sequence n", fontsize=13)
    ax.set_ylabel("values recalled (%)", fontsize=13)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=10, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
