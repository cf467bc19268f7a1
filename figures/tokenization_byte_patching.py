"""Entropy patching of one held-out sentence, from results/bytes_vs_bpe.json (written by
benchmarks/bench_bytes_vs_bpe.py): the byte model's next-byte entropy of every byte against the
global threshold, and its rise over the byte before against the monotonic threshold; a dark bar
starts a patch (byte-level models page)."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.results import load

START, REST = "#d94801", "#9ecae1"


def rows(patching: dict) -> list[tuple[str, list[float], float, list[int]]]:
    """(label, bar heights, threshold, patch starts) of each panel: global, then monotonic."""
    h = patching["entropies_bits"]
    rise = [0.0] + [b - a for a, b in zip(h, h[1:])]  # byte 0 starts a patch by definition
    return [("entropy H(x_t), bits", h, patching["global_threshold"], patching["global_starts"]),
            ("rise H(x_t) − H(x_t−1), bits", rise, patching["monotonic_threshold"],
             patching["monotonic_starts"])]


def draw() -> Figure:
    patching = load("bytes_vs_bpe")["patching"]
    labels = ["␣" if c == " " else c for c in patching["sentence"]]
    with plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(2, 1, figsize=(9.0, 5.2), sharex=True)
        for ax, (label, heights, threshold, starts) in zip(axes, rows(patching)):
            colours = [START if t in starts else REST for t in range(len(heights))]
            ax.bar(range(len(heights)), heights, color=colours, width=0.8)
            ax.axhline(threshold, color="black", ls="--", lw=1.2)
            ax.set_ylabel(label, fontsize=10)
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_title(f"{'global' if ax is axes[0] else 'monotonic'} constraint, θ = "
                         f"{threshold:.2f} bits (dashed): {len(starts)} patches", fontsize=11,
                         loc="left")
        axes[1].axhline(0, color="grey", lw=0.6)
        axes[1].set_xticks(range(len(labels)), labels, fontfamily="monospace")
        axes[1].set_xlim(-0.6, len(labels) - 0.4)
        fig.tight_layout()
    return fig
