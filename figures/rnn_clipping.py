"""One gradient clipped by global norm and by value (snippets.training.clipping), in the plane."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from snippets.training.clipping import clip_grad_norm, clip_grad_value

GRADIENT = (3.0, 1.2)  # a two-parameter gradient, large in the first coordinate
TAU = 1.0


def clipped() -> dict[str, torch.Tensor]:
    """The gradient before clipping and after each of the library's two clipping functions."""
    result = {"gradient": torch.tensor(GRADIENT, dtype=torch.float64)}
    for name, clip in (("by norm", lambda p: clip_grad_norm([p], TAU)),
                       ("by value", lambda p: clip_grad_value([p], TAU))):
        p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        p.grad = result["gradient"].clone()
        clip(p)
        result[name] = p.grad
    return result


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.add_patch(Circle((0, 0), TAU, fill=False, color="#1f5fa8", ls="--", lw=1.2))
    ax.add_patch(Rectangle((-TAU, -TAU), 2 * TAU, 2 * TAU, fill=False, color="#c0392b", ls=":", lw=1.5))
    styles = {"gradient": ("black", "g", (8, 4), "left"),
              "by norm": ("#1f5fa8", "by norm", (8, -16), "left"),
              "by value": ("#c0392b", "by value", (-6, 8), "right")}
    for name, g in clipped().items():
        colour, label, offset, align = styles[name]
        tip = tuple(g.tolist())
        ax.annotate("", xy=tip, xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=2.2, mutation_scale=18))
        ax.annotate(label, xy=tip, xytext=offset, textcoords="offset points", ha=align,
                    color=colour, fontsize=13)
    ax.text(-1.15, -1.45, f"circle: norm τ = {TAU:g};  square: each |gᵢ| ≤ τ", fontsize=11, color="#444444")
    ax.set_xlim(-1.2, 3.3)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.set_xlabel("g₁", fontsize=13)
    ax.set_ylabel("g₂", fontsize=13)
    ax.tick_params(labelsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
