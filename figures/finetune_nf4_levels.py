"""NF4 against uniform int4 on normally distributed weights: where the 16 levels sit, and how
often each code is used after blockwise absmax quantisation with 64-weight blocks
(snippets.adaptation.quantization; QLoRA page, fine-tuning chapter)."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from snippets.adaptation.quantization import int4_levels, nf4_levels, quantize_blockwise

BLOCK = 64


def code_usage(levels: torch.Tensor, n: int = 64 * 1024) -> tuple[np.ndarray, np.ndarray]:
    """Normalised weights (each block divided by its absmax) and each code's share of them."""
    w = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    codes, absmax = quantize_blockwise(w, levels, BLOCK)
    normed = (w.reshape(-1, BLOCK) / absmax[:, None]).reshape(-1)
    share = np.bincount(codes.numpy(), minlength=len(levels)) / n
    return normed.numpy(), share


def draw() -> Figure:
    grids = {"NF4": (nf4_levels(), "#d94801"), "int4 (uniform)": (int4_levels(), "#2171b5")}
    with plt.rc_context({"font.size": 13}):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 5.6), height_ratios=(1.1, 1))
        normed, _ = code_usage(grids["NF4"][0])
        top.hist(normed, bins=80, range=(-1, 1), color="#bdbdbd", density=True)
        for row, (name, (levels, colour)) in enumerate(grids.items()):
            y = -0.12 - 0.18 * row
            top.plot(levels.numpy(), np.full(len(levels), y), "|", ms=14, mew=2, color=colour,
                     label=name, clip_on=False)
        top.set_ylim(-0.5, None)
        top.set_yticks([])
        top.set_xlabel("weight / absmax of its block of 64")
        top.set_title("Normal weights over absmax, and the levels")
        top.legend(frameon=False, loc="upper left", fontsize=12)
        for name, (levels, colour) in grids.items():
            _, share = code_usage(levels)
            bottom.plot(levels.numpy(), share * 100, "o-", color=colour, label=name, ms=5)
        bottom.axhline(100 / 16, color="black", ls=":", lw=1)
        bottom.text(-1, 100 / 16 + 0.3, "1/16", va="bottom")
        bottom.set_xlabel("level")
        bottom.set_ylabel("% of weights")
        bottom.set_title("How often each code is used")
        for ax in (top, bottom):
            ax.set_xticks([-1, -0.5, 0, 0.5, 1])
            ax.spines[["top", "right"]].set_visible(False)
        top.spines["left"].set_visible(False)
        fig.tight_layout()
    return fig
