"""ALiBi's bias against distance for each of 8 heads (snippets.layers.positional.alibi_bias)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from snippets.layers.positional import alibi_bias

HEADS, T = 8, 65


def last_query_bias() -> torch.Tensor:
    """(H, T) bias of the last query over keys T-1 down to 0, i.e. against distance 0..T-1."""
    return alibi_bias(HEADS, T)[:, -1, :].flip(-1)


def draw() -> Figure:
    bias = last_query_bias()
    distance = range(T)
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = plt.get_cmap("viridis")
    for h in range(HEADS):
        slope = -bias[h, 1].item()
        ax.plot(distance, bias[h].numpy(), lw=2, color=colours(0.85 * h / (HEADS - 1)),
                label=f"{h + 1}: 1/{round(1 / slope)}")
    ax.set_xlabel("distance m − n (tokens back)", fontsize=13)
    ax.set_ylabel("bias added to the score", fontsize=13)
    ax.set_xlim(0, T - 1)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=11.5, frameon=False, ncol=2, loc="lower left", title="ALiBi slope per head",
              title_fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
