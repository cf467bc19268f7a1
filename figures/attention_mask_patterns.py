"""The four mask patterns of chapter 2, drawn from the library's own masks (True = may attend)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from snippets.layers.attention import causal_mask

T, REAL = 6, 4  # a sequence of 6 positions whose last 2 are padding


def mask_panels() -> dict[str, torch.Tensor]:
    """Title -> boolean (T_q, T_k) mask, as the attention functions receive it."""
    keep = torch.arange(T) < REAL                       # (T_k,) True for real tokens
    padding = keep.expand(T, T)                         # depends on the key only
    return {
        "padding (2 pads)": padding,
        "causal": causal_mask(T),
        "padding AND causal": padding & causal_mask(T),
        "2 new queries, cache of 4": causal_mask(2, T),  # bottom-right aligned
    }


def draw() -> Figure:
    fig, axes = plt.subplots(2, 2, figsize=(6, 5.6))
    colours = ListedColormap(["#e4e4e4", "#1f5fa8"])    # masked, allowed
    for ax, (title, mask) in zip(axes.flat, mask_panels().items()):
        t_q, t_k = mask.shape
        ax.imshow(mask.int().numpy(), cmap=colours, vmin=0, vmax=1)
        ax.set_xticks(range(t_k))
        ax.set_yticks(range(t_q), [str(t_k - t_q + i) for i in range(t_q)])  # query positions
        ax.set_xticks([x - 0.5 for x in range(1, t_k)], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, t_q)], minor=True)
        ax.grid(which="minor", color="white", linewidth=2)
        ax.tick_params(which="minor", length=0)
        ax.tick_params(labelsize=12)
        ax.set_title(title, fontsize=13)
    for ax in axes[1]:
        ax.set_xlabel("key position j", fontsize=13)
    for ax in axes[:, 0]:
        ax.set_ylabel("query i", fontsize=13)
    fig.tight_layout()
    return fig
