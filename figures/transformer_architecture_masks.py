"""Which keys each query may use in the three Transformer families, from the library's causal_mask."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from snippets.layers.attention import causal_mask

T, T_SOURCE, T_TARGET = 6, 4, 4


def patterns() -> dict[str, torch.Tensor]:
    """Title -> boolean (queries, keys) pattern, True where attention is allowed."""
    return {
        "encoder-only": torch.ones(T, T, dtype=torch.bool),   # every token sees every token
        "decoder-only": causal_mask(T),
        # a decoder query: cross-attention over the whole source, then causal self-attention
        "encoder-decoder": torch.cat([torch.ones(T_TARGET, T_SOURCE, dtype=torch.bool),
                                      causal_mask(T_TARGET)], dim=1),
    }


def draw() -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.9), width_ratios=[T, T, T_SOURCE + T_TARGET])
    colours = ListedColormap(["#e4e4e4", "#1f5fa8"])
    for ax, (title, mask) in zip(axes, patterns().items()):
        ax.imshow(mask.int().numpy(), cmap=colours, vmin=0, vmax=1)
        ax.set_xticks([x - 0.5 for x in range(1, mask.shape[1])], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, mask.shape[0])], minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(title, fontsize=13)
        ax.set_xlabel("keys", fontsize=13)
    axes[0].set_ylabel("queries", fontsize=13)
    axes[2].axvline(T_SOURCE - 0.5, color="black", lw=2.5)
    axes[2].set_xlabel("source | target", fontsize=13)
    fig.tight_layout()
    return fig
