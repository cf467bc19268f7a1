"""Warm-up plus cosine decay (snippets.training.schedule.lr_at) for the reference and the fast recipe."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.training.schedule import lr_at


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    recipes = [("reference: 2000 steps, peak 1e-3", 2000, 1e-3, 1e-4, 100),
               ("fast: 800 steps, peak 3e-3", 800, 3e-3, 3e-4, 40)]
    for label, total, peak, floor, warmup in recipes:
        steps = range(total + 1)
        ax.plot(steps, [lr_at(s, max_lr=peak, min_lr=floor, warmup_steps=warmup,
                              total_steps=total) for s in steps], label=label)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("learning rate")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
