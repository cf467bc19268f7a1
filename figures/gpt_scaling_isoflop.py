"""IsoFLOP profiles of Chinchilla's parametric fit: predicted loss against model size at fixed
training compute, with the fit's own optimum and the 20-tokens-per-parameter split marked
(snippets.models.scaling; scaling-laws page, GPT chapter)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from snippets.models.scaling import chinchilla_loss, chinchilla_optimal, fit_optimal_split

BUDGETS = (1e20, 1e21, 1e22, 1e23, 1e24)


def profile(flops: float, sizes: np.ndarray) -> np.ndarray:
    """Loss of each model size N trained on the tokens the budget leaves, D = C / 6N."""
    return np.array([chinchilla_loss(n, flops / (6 * n)) for n in sizes])


def draw() -> Figure:
    sizes = np.logspace(7.5, 12, 200)
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 4.6))
        for i, flops in enumerate(BUDGETS):
            colour = plt.cm.viridis(i / (len(BUDGETS) - 0.5))
            ax.plot(sizes, profile(flops, sizes), color=colour, lw=2, label=f"C = {flops:.0e}".replace("e+", "e"))
            n_fit, d_fit = fit_optimal_split(flops)
            n_20, d_20 = chinchilla_optimal(flops)
            ax.plot(n_fit, chinchilla_loss(n_fit, d_fit), "o", color=colour, ms=8, mec="black")
            ax.plot(n_20, chinchilla_loss(n_20, d_20), "x", color="black", ms=8, mew=2)
        ax.plot([], [], "o", color="grey", mec="black", label="fit's optimum")
        ax.plot([], [], "x", color="black", mew=2, label="20 tokens/param")
        ax.set_xscale("log")
        ax.set_ylim(1.8, 3.6)
        ax.set_xlabel("parameters N (tokens D = C / 6N)")
        ax.set_ylabel("predicted loss (nats/token)")
        ax.set_title("Same compute, different splits")
        ax.legend(fontsize=12, ncol=3, frameon=False, loc="upper center", bbox_to_anchor=(0.45, -0.25))
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
