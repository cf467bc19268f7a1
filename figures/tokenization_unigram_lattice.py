"""The segmentation lattice of "▁lovely" under a small Unigram vocabulary: every piece is an
edge from its start to its end position, weighted by log p; snippets.tokenizers.unigram's
UnigramLM.viterbi picks the path with the largest total (Unigram page)."""

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Arc

from snippets.tokenizers.unigram import UnigramLM

WORD = "▁lovely"
# A hand-made vocabulary (log probabilities), small enough to draw every edge.
PIECES = {"▁": -2.0, "l": -3.5, "o": -3.2, "v": -4.5, "e": -2.8, "y": -4.0, "▁l": -5.0,
          "ly": -4.2, "love": -6.0, "▁love": -6.5, "ove": -5.5}


def edges(word: str = WORD) -> list[tuple[int, int, str]]:
    """(start, end, piece) for every vocabulary piece that occurs in the word."""
    return [(s, e, word[s:e]) for s in range(len(word)) for e in range(s + 1, len(word) + 1)
            if word[s:e] in PIECES]


def best_path(word: str = WORD) -> list[tuple[int, int, str]]:
    pieces, start, path = UnigramLM(PIECES).viterbi(word), 0, []
    for piece in pieces:
        path.append((start, start + len(piece), piece))
        start += len(piece)
    return path


def draw() -> Figure:
    best = best_path()
    total = sum(PIECES[p] for _, _, p in best)
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.4))
        for s, e, piece in edges():
            on_path = (s, e, piece) in best
            width, height = e - s, 0.9 * (e - s)
            ax.add_patch(Arc(((s + e) / 2, 0), width, height, theta1=0, theta2=180,
                             color="#d94801" if on_path else "#9ecae1", lw=3 if on_path else 1.6,
                             zorder=3 if on_path else 2))
            colour = "#a63603" if on_path else "#08519c"
            if e - s == 1:  # a character's own log p goes under it, where there is room
                ax.text(s + 0.5, -0.62, f"{PIECES[piece]:g}", ha="center", va="center",
                        fontsize=12, color=colour)
            else:
                ax.text((s + e) / 2, height / 2 + 0.04, f"{piece} {PIECES[piece]:g}", ha="center",
                        va="bottom", fontsize=12, color=colour,
                        fontweight="bold" if on_path else "normal")
        for i, ch in enumerate(WORD):
            ax.text(i + 0.5, -0.27, ch, ha="center", va="center", family="monospace", fontsize=14)
        ax.plot(range(len(WORD) + 1), [0] * (len(WORD) + 1), "o", color="black", ms=5, zorder=4)
        ax.set_title(f"Viterbi: {' + '.join(p for _, _, p in best)}, log p = {total:g} "
                     f"(p = {math.exp(total):.1e})", fontsize=12)
        ax.set_xlim(-0.3, len(WORD) + 0.3)
        ax.set_ylim(-0.85, max(0.45 * (e - s) for s, e, _ in edges()) + 0.45)
        ax.set_aspect("equal")
        ax.axis("off")
        fig.tight_layout()
    return fig
