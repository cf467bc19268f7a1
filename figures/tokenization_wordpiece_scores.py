"""Every candidate first merge of WordPiece on a slice of Shakespeare: the pair's count against
the ratio score c(ab) / (c(a) c(b)) that snippets.tokenizers.wordpiece trains with, with the
pair the ratio picks and the pair the unigram likelihood gain c(ab) (PMI - 1) would pick
(WordPiece page)."""

import math
from collections import Counter

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.tokenizers.wordpiece import WORD_PATTERN, PairIndex
from snippets.training.corpus import tiny_shakespeare

CHARS = 50_000


def candidates(text: str) -> list[tuple[tuple[str, str], int, float, float]]:
    """(pair, count, ratio score, first-order likelihood gain) of every adjacent pair of units."""
    index = PairIndex(Counter(WORD_PATTERN.findall(text)))
    n = sum(index.units.values())
    rows = []
    for pair, count in index.pairs.items():
        if count > 0:
            pmi = math.log(n * count / (index.units[pair[0]] * index.units[pair[1]]))
            rows.append((pair, count, index.score(pair), count * (pmi - 1)))
    return rows


def draw() -> Figure:
    rows = candidates(tiny_shakespeare()[:CHARS])
    by_ratio = min(rows, key=lambda r: (-r[2], r[0]))  # the trainer's heap order: ties to the smallest pair
    by_gain = max(rows, key=lambda r: r[3])
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 4.2))
        ax.scatter([r[1] for r in rows], [r[2] for r in rows], s=9, color="#9ecae1", alpha=0.7,
                   label=f"{len(rows):,} candidate pairs")
        for row, colour, what, align in ((by_ratio, "#d94801", "ratio's pick", "left"),
                                         (by_gain, "#08519c", "likelihood gain's pick", "right")):
            ax.scatter([row[1]], [row[2]], s=110, color=colour, marker="*", zorder=3)
            pair = f"{row[0][0]} + {row[0][1]}"
            ax.annotate(f"{what}:\n{pair} (count {row[1]:,})", (row[1], row[2]),
                        xytext=(8 if align == "left" else -8, 6), textcoords="offset points",
                        ha=align, color=colour, fontsize=12)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pair count c(ab)")
        ax.set_ylabel("ratio score c(ab) / (c(a) c(b))")
        ax.legend(frameon=False, loc="lower right", fontsize=12)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
