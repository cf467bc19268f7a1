"""How much a context word counts at each offset from the centre word, under the three window
weightings of snippets.embeddings.cooccurrence.distance_weight (sparse-vectors page)."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.embeddings.cooccurrence import distance_weight

WINDOW = 5
WEIGHTINGS = (("uniform", "uniform (classic counts)", "#969696", "s"),
              ("linear", "linear (word2vec's shrinking window)", "#d94801", "o"),
              ("harmonic", "1/d (GloVe)", "#2171b5", "^"))


def weights(weighting: str) -> tuple[list[int], list[float]]:
    """Offsets -W..W (0, the centre word itself, left out) and each one's weight."""
    offsets = [o for o in range(-WINDOW, WINDOW + 1) if o != 0]
    return offsets, [distance_weight(abs(o), WINDOW, weighting) for o in offsets]


def draw() -> Figure:
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
        for weighting, label, colour, marker in WEIGHTINGS:
            offsets, w = weights(weighting)
            for side in (offsets[:WINDOW], offsets[WINDOW:]):  # no line through the centre
                ax.plot(side, w[:WINDOW] if side[0] < 0 else w[WINDOW:], marker=marker, ms=7,
                        lw=2, color=colour, label=label if side[0] > 0 else None)
        ax.axvline(0, color="black", lw=1)
        ax.text(0, 1.17, "centre word", ha="center", va="bottom")
        ax.set_xticks(range(-WINDOW, WINDOW + 1))
        ax.set_xlabel(f"offset of the context word (window W = {WINDOW})")
        ax.set_ylabel("weight of the pair")
        ax.set_ylim(0, 1.3)
        ax.legend(frameon=False, fontsize=12, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
