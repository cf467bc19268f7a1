"""The Transformer's warm-up schedule (snippets.models.seq2seq.noam_lr) for three warm-up lengths."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.models.seq2seq import noam_lr

D_MODEL = 512
WARMUPS = (2000, 4000, 8000)  # the paper used 4,000
STEPS = sorted(set(range(1, 40001, 50)) | set(WARMUPS))  # the peaks lie on the grid


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for warmup in WARMUPS:
        ax.plot(STEPS, [noam_lr(s, D_MODEL, warmup) * 1e4 for s in STEPS], lw=2.2,
                label=f"warm-up {warmup:,}" + (" (paper)" if warmup == 4000 else ""))
        ax.plot([warmup], [noam_lr(warmup, D_MODEL, warmup) * 1e4], "o", color="black", ms=5)
    ax.set_xlabel("step", fontsize=13)
    ax.set_ylabel("learning rate (×10⁻⁴)", fontsize=13)
    ax.set_xlim(0, STEPS[-1])
    ax.set_ylim(0, None)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=12, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
