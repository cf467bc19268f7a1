"""Held-out MLM loss and masked-token accuracy of the mini-BERT (benchmarks/bench_bert_mlm.py),
for the warm-up run and the no-warm-up failure run, with the baselines as dashed lines."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "bert_mlm.json"


def draw() -> Figure:
    results = json.loads(RESULTS.read_text())
    base = results["baselines"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, run in results["runs"].items():
        steps = [point["step"] for point in run["curve"]]
        ax_loss.plot(steps, [point["test_loss"] for point in run["curve"]], marker=".", label=name)
        ax_acc.plot(steps, [100 * point["test_acc"] for point in run["curve"]], marker=".", label=name)
    ax_loss.axhline(base["unigram_loss"], color="grey", linestyle="--", label="unigram distribution")
    ax_acc.axhline(100 * base["most_frequent_acc"], color="grey", linestyle="--",
                   label=f"always \"{base['most_frequent_token']}\"")
    ax_loss.set_ylabel("held-out MLM loss (nats)")
    ax_acc.set_ylabel("held-out masked accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("optimiser step")
        ax.spines[["top", "right"]].set_visible(False)
    ax_loss.set_ylim(top=base["uniform_loss"] + 0.2)
    ax_loss.legend(frameon=False, fontsize=8)
    ax_acc.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
