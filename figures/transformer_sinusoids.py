"""The sine channels of the sinusoidal position table (snippets.layers.positional.sinusoidal_table)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from snippets.layers.positional import sinusoidal_table

POSITIONS, CHANNELS = 96, 64


def sine_channels() -> torch.Tensor:
    """(T, C/2): sin(m ω_i), the even channels; the odd ones are the matching cosines."""
    return sinusoidal_table(POSITIONS, CHANNELS)[:, 0::2]


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4.6))
    image = ax.imshow(sine_channels().numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                      interpolation="nearest")
    ax.set_xlabel(r"pair $i$, frequency $\omega_i = 10000^{-2i/C}$, $C = 64$", fontsize=13)
    ax.set_ylabel("position m", fontsize=13)
    ax.set_title(r"$\sin(m\,\omega_i)$: fast pairs left, slow pairs right", fontsize=13)
    ax.tick_params(labelsize=12)
    colourbar = fig.colorbar(image, ax=ax, fraction=0.05, ticks=[-1, 0, 1])
    colourbar.ax.tick_params(labelsize=12)
    fig.tight_layout()
    return fig
