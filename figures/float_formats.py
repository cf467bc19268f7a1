"""The bit layouts of float32, bfloat16 and float16: sign, exponent, mantissa."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

FORMATS = [("float32", 8, 23), ("bfloat16", 8, 7), ("float16", 5, 10)]  # (name, exponent, mantissa)
COLOURS = {"sign": "#9e9e9e", "exponent": "#4f81bd", "mantissa": "#f2a541"}


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(7, 2.4))
    for row, (name, exponent, mantissa) in enumerate(FORMATS):
        y = len(FORMATS) - 1 - row
        left = 0
        for part, width in (("sign", 1), ("exponent", exponent), ("mantissa", mantissa)):
            ax.barh(y, width, left=left, height=0.6, color=COLOURS[part], edgecolor="white",
                    label=part if row == 0 else None)
            if width > 1:
                ax.text(left + width / 2, y, str(width), ha="center", va="center", fontsize=9)
            left += width
        ax.text(-0.6, y, name, ha="right", va="center", fontsize=10)
    ax.set_xlim(-8, 32)
    ax.set_yticks([])
    ax.set_xticks([0, 8, 16, 24, 32])
    ax.set_xlabel("bits")
    ax.legend(frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.55, 1.25))
    ax.spines[["top", "right", "left"]].set_visible(False)
    fig.tight_layout()
    return fig
