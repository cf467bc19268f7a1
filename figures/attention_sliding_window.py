"""A causal sliding window (snippets.layers.attention.sliding_window_mask) and what L stacked
layers of it can reach."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from snippets.layers.attention import sliding_window_mask

T, WINDOW, LAYERS = 12, 3, 3


def reach(t: int, window: int, layers: int) -> torch.Tensor:
    """Boolean (T, T): True where position j can influence position i through `layers` layers."""
    one = sliding_window_mask(t, window).int()
    paths = one
    for _ in range(layers - 1):
        paths = (paths @ one).clamp(max=1)  # compose one more layer
    return paths.bool()


def draw() -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.6))
    colours = ListedColormap(["#e4e4e4", "#1f5fa8"])
    panels = [(f"one layer, window {WINDOW}", sliding_window_mask(T, WINDOW)),
              (f"{LAYERS} layers: reach {LAYERS * (WINDOW - 1)} back", reach(T, WINDOW, LAYERS))]
    for ax, (title, mask) in zip(axes, panels):
        ax.imshow(mask.int().numpy(), cmap=colours, vmin=0, vmax=1)
        ax.set_xticks(range(0, T, 3))
        ax.set_yticks(range(0, T, 3))
        ax.tick_params(labelsize=12)
        ax.set_title(title, fontsize=13)
        ax.set_xlabel("key j", fontsize=13)
    axes[0].set_ylabel("query i", fontsize=13)
    fig.tight_layout()
    return fig
