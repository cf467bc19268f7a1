"""Same time budget, two architectures (chapter 1): validation bits per character against
time for a character LSTM and a GPT, from results/rnn_vs_gpt.json."""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "rnn_vs_gpt.json"


def draw():
    data = json.loads(RESULTS.read_text())
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for key, label in (("lstm", "2-layer LSTM"), ("gpt", "GPT, 4 layers")):
        curve = data[key]["curve"]
        ax.plot([c["seconds"] for c in curve], [c["val_bpc"] for c in curve], "o-", ms=3,
                label=f"{label} ({data[key]['parameters']:,} parameters)")
    ax.set_xlabel("CPU seconds of training (one thread each)")
    ax.set_ylabel("validation bits per character")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
