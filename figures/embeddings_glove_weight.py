"""GloVe's weighting f(x) of a co-occurrence count, from snippets.embeddings.glove.glove_weight
with the paper's x_max = 100 and alpha = 3/4, beside alpha = 1 (GloVe page)."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from snippets.embeddings.glove import glove_weight

X_MAX = 100.0


def curve(alpha: float) -> tuple[np.ndarray, np.ndarray]:
    x = torch.logspace(-1, 4, 400, dtype=torch.float64)
    return x.numpy(), glove_weight(x, X_MAX, alpha).numpy()


def draw() -> Figure:
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
        for alpha, label, style in ((0.75, "α = 3/4 (the paper's)", "-"), (1.0, "α = 1", "--")):
            x, f = curve(alpha)
            ax.plot(x, f, style, lw=2.2, color="#2171b5" if alpha < 1 else "#969696", label=label)
        ax.axvline(X_MAX, color="#d94801", lw=1.2, ls=":")
        ax.text(X_MAX * 1.15, 0.25, "x_max = 100:\nno pair counts\nmore than 1", color="#a63603")
        ax.set_xscale("log")
        ax.set_xlabel("co-occurrence count X_ij (weighted by 1/d)")
        ax.set_ylabel("f(X_ij), the cell's weight")
        ax.set_ylim(0, 1.1)
        ax.legend(frameon=False, loc="upper left")
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
