"""The order in which the masked-diffusion model revealed one 64-character sample, by confidence
and at random, 63 passes each (benchmarks/bench_masked_diffusion.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "masked_diffusion.json"
SAMPLERS = ("diffusion, confidence, 63 passes", "diffusion, random, 63 passes")
ROWS = 8   # the 64 positions drawn as 8 rows of 8


def orders() -> dict[str, tuple[str, list[int]]]:
    """Sampler -> (the first sample's text, the pass at which each position was revealed)."""
    samples = json.loads(RESULTS.read_text())["samples"]
    return {name: (samples[name]["texts"][0], samples[name]["revealed_at"]) for name in SAMPLERS}


def draw() -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 4.2))
    for ax, (name, (text, revealed)) in zip(axes, orders().items()):
        grid = np.array(revealed, dtype=float).reshape(ROWS, -1)
        grid[grid < 0] = np.nan                                  # the prompt was given, not revealed
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=62)
        for i, ch in enumerate(text):
            shown = "⏎" if ch == "\n" else ("␣" if ch == " " else ch)
            ax.text(i % grid.shape[1], i // grid.shape[1], shown, ha="center", va="center", fontsize=9,
                    color="white" if revealed[i] < 31 else "black")
        ax.set_title(name.removeprefix("diffusion, ").replace(", 63 passes", " order"), fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, shrink=0.8, label="pass at which it was revealed")
    return fig
