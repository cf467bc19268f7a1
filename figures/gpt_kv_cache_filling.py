"""Which positions' keys and values each decoding step computes, with and without the KV cache.

Recorded from snippets.models.gpt.GPT.generate itself: every call it makes to the network is
logged (how many positions it pushes through, how many it reads from the cache), on a model
with a context of 8 so that the window slides within the plot (KV cache page, GPT chapter).
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from snippets.models.gpt import GPT, GPTConfig

PROMPT, NEW, CONTEXT = 3, 9, 8
EMPTY, READ, COMPUTED = 0, 1, 2
COLOURS = ("#ffffff", "#9ecae1", "#d94801")


def traffic(use_cache: bool) -> np.ndarray:
    """(steps, positions) grid: COMPUTED where a step runs a position through the network,
    READ where it attends to a cached key and value, EMPTY elsewhere."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, context_length=CONTEXT, n_layers=1, n_heads=1, d_model=8))
    grid = np.full((NEW, PROMPT + NEW - 1), EMPTY)
    network = model.logits

    def logged(idx, caches=None, **kw):
        step = len(calls)
        end = PROMPT + step                        # the sequence is this long before the step
        cached = caches[0].length if caches else 0
        grid[step, end - idx.shape[1]:end] = COMPUTED
        grid[step, end - idx.shape[1] - cached:end - idx.shape[1]] = READ
        calls.append(idx.shape[1])
        return network(idx, caches, **kw)

    calls: list[int] = []
    model.logits = logged  # an instance attribute shadows the method generate calls
    model.generate(torch.zeros(1, PROMPT, dtype=torch.long), NEW, temperature=0.0,
                   use_cache=use_cache)
    return grid


def draw() -> Figure:
    with plt.rc_context({"font.size": 13}):
        fig, axes = plt.subplots(1, 2, figsize=(6.0, 4.0), sharey=True)
        cmap = ListedColormap(COLOURS)
        for ax, use_cache, title in ((axes[0], False, "no cache"), (axes[1], True, "KV cache")):
            grid = traffic(use_cache)
            ax.imshow(grid, cmap=cmap, vmin=0, vmax=2, aspect="auto")
            ax.set_xticks(np.arange(grid.shape[1]) - 0.5, minor=True)
            ax.set_yticks(np.arange(grid.shape[0]) - 0.5, minor=True)
            ax.grid(which="minor", color="#bbbbbb", lw=0.6)
            ax.tick_params(which="minor", length=0)
            ax.set_xticks([0, 4, 8])
            ax.set_title(f"{title}\n{(grid == COMPUTED).sum()} computed")
            ax.set_xlabel("position")
            for row, count in enumerate((grid == COMPUTED).sum(axis=1)):
                ax.text(grid.shape[1] - 0.3, row, str(count), va="center", ha="left", fontsize=12)
        axes[0].set_ylabel("decoding step")
        axes[0].set_yticks(range(NEW))
        fig.legend(handles=[Patch(color=COLOURS[COMPUTED], label="k, v computed"),
                            Patch(facecolor=COLOURS[READ], label="read from cache")],
                   loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
