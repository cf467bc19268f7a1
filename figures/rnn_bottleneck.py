"""The fixed-vector bottleneck (chapter 1), from results/rnn_bottleneck.json written by
benchmarks/bench_rnn_bottleneck.py: accuracy against length, learning curves, and the
attention weights of one reversal."""

import json
from pathlib import Path

import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent.parent / "results" / "rnn_bottleneck.json"


def draw():
    data = json.loads(RESULTS.read_text())
    fig, (ax_len, ax_curve, ax_map) = plt.subplots(1, 3, figsize=(12.6, 3.8))
    for key, label, color in (("plain", "one context vector", "tab:gray"),
                              ("attention", "additive attention", "tab:blue")):
        rows = data[key]["by_length"]
        lengths = [r["length"] for r in rows]
        ax_len.plot(lengths, [r["exact"] for r in rows], "o-", color=color, label=f"{label}, exact")
        ax_len.plot(lengths, [r["token"] for r in rows], "s--", color=color, label=f"{label}, per token")
        curve = data[key]["curve"]
        ax_curve.plot([c["step"] for c in curve], [c["exact20"] for c in curve], "o-", color=color,
                      label=label)
    ax_len.axvline(data["train_lengths"][1], color="k", lw=0.8, ls=":")
    ax_len.set_xlabel("string length (dotted: longest trained)")
    ax_len.set_ylabel("accuracy on held-out strings")
    ax_len.set_ylim(0, 1.02)
    ax_len.legend(fontsize=7)
    ax_len.set_title("Reversal accuracy against length")
    ax_curve.set_xlabel("training step")
    ax_curve.set_ylabel("exact-sequence accuracy, length 20")
    ax_curve.set_ylim(0, 1.02)
    ax_curve.legend(fontsize=7)
    ax_curve.set_title("Learning curves")
    example = data["attention"]["example"]
    weights = example["weights"]
    ax_map.imshow(weights, cmap="viridis", aspect="auto")
    ax_map.set_xticks(range(len(example["src"])), [str(d) for d in example["src"]], fontsize=6)
    ax_map.set_yticks(range(len(example["pred"])),
                      [str(d) if 0 <= d <= 9 else "EOS" for d in example["pred"]], fontsize=6)
    ax_map.set_xlabel("source digit")
    ax_map.set_ylabel("output digit")
    ax_map.set_title("Attention weights, length 20")
    fig.tight_layout()
    return fig
