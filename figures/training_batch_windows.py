"""A batch as snippets.training.text_data.get_batch draws it: B random windows of T + 1
characters from one stream, inputs x the first T, targets y the same window shifted by one
(data page, building a mini transformer)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from snippets.training.text_data import get_batch

TEXT = "First Citizen: Before we"
B, T, SEED = 3, 6, 0


def windows() -> tuple[torch.Tensor, torch.Tensor]:
    """The positions in TEXT of x and y, (B, T) each: get_batch on the stream of positions,
    with the generator seeded as a run would seed it."""
    positions = torch.arange(len(TEXT))
    return get_batch(positions, B, T, torch.Generator().manual_seed(SEED))


def cell(ax, x: float, y: float, char: str, colour: str) -> None:
    ax.add_patch(Rectangle((x, y), 1, 1, fc=colour, ec="#525252", lw=0.8))
    ax.text(x + 0.5, y + 0.5, "␣" if char == " " else char, ha="center", va="center",
            family="monospace", fontsize=14)


def draw() -> Figure:
    x, y = windows()
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.9))
        top = 2 * B + B
        for i, ch in enumerate(TEXT):
            cell(ax, i, top, ch, "#f0f0f0")
        ax.text(-0.4, top + 0.5, "stream", ha="right", va="center")
        for b in range(B):
            row = top - 1.5 - 3 * b
            for t in range(T):
                cell(ax, x[b, t].item(), row, TEXT[x[b, t]], "#c6dbef")
                cell(ax, y[b, t].item(), row - 1, TEXT[y[b, t]], "#fdd0a2")
            ax.text(-0.4, row + 0.5, f"x[{b}]", ha="right", va="center", color="#08519c")
            ax.text(-0.4, row - 0.5, f"y[{b}]", ha="right", va="center", color="#a63603")
        ax.set_xlim(-3.2, len(TEXT) + 0.2)
        ax.set_ylim(top - 3 * B - 0.2, top + 1.2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"B = {B} random windows of T + 1 = {T + 1}")
        fig.tight_layout()
    return fig
