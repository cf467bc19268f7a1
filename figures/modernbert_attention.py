"""ModernBERT's two attention masks (snippets.models.modernbert.layer_masks) on one padded
sequence, and which layers use which."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from snippets.models.modernbert import ModernBertConfig, layer_masks

T, REAL, WINDOW, LAYERS = 24, 20, 8, 6


def masks() -> tuple[torch.Tensor, torch.Tensor]:
    """The global and the local keep-masks (T, T) of one sequence of REAL tokens padded to T."""
    attention_mask = (torch.arange(T) < REAL).long().unsqueeze(0)      # (1, T)
    global_keep, local_keep = layer_masks(attention_mask, WINDOW)
    return global_keep.expand(1, 1, T, T)[0, 0], local_keep[0, 0]


def layer_kinds() -> list[bool]:
    """True for a global layer, for each of LAYERS layers of the default alternation."""
    config = ModernBertConfig(n_layers=LAYERS, local_window=WINDOW)
    return [config.is_global(i) for i in range(LAYERS)]


def draw() -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.8))
    colours = ListedColormap(["#e4e4e4", "#1f5fa8"])
    kinds = layer_kinds()
    global_layers = ", ".join(str(i) for i, g in enumerate(kinds) if g)
    local_layers = ", ".join(str(i) for i, g in enumerate(kinds) if not g)
    panels = [(f"global: layers {global_layers}", masks()[0]),
              (f"local, window {WINDOW}: layers {local_layers}", masks()[1])]
    for ax, (title, mask) in zip(axes, panels):
        ax.imshow(mask.int().numpy(), cmap=colours, vmin=0, vmax=1)
        ax.axvline(REAL - 0.5, color="#c0392b", lw=1.2)
        ax.set_xticks(range(0, T, 4))
        ax.set_yticks(range(0, T, 4))
        ax.tick_params(labelsize=11)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(f"key j (padding from {REAL})", fontsize=11)
    axes[0].set_ylabel("query i", fontsize=11)
    fig.tight_layout()
    return fig
