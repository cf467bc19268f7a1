"""Where a loss curve should go: the stored training runs' losses against steps, with the
entropy of the unigram, bigram and trigram predictors of the same text as the plateaus a stuck
run sits on (results/train_shakespeare.json; generation and debugging page)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from snippets.results import load
from snippets.training.corpus import tiny_shakespeare


def ngram_entropy(text: str, n: int) -> float:
    """Entropy in nats of a character given the n - 1 before it, counted in the text
    (the page's Counter version, vectorised: each n-gram is one integer code)."""
    chars = sorted(set(text))
    ids = np.searchsorted(chars, np.array(list(text)))
    grams = np.zeros(len(ids) - n + 1, dtype=np.int64)
    for k in range(n):
        grams = grams * len(chars) + ids[k:len(ids) - n + 1 + k]
    _, gram_counts = np.unique(grams, return_counts=True)
    contexts, inverse = np.unique(grams // len(chars), return_inverse=True)
    context_counts = np.bincount(inverse)
    # every n-gram's count over its context's count, weighted by the n-gram's frequency
    codes, first = np.unique(grams, return_index=True)
    p_gram = gram_counts / len(grams)
    p_cond = gram_counts / context_counts[inverse[first]]
    return float(-(p_gram * np.log(p_cond)).sum())


def draw() -> Figure:
    result = load("train_shakespeare")
    text = tiny_shakespeare()
    levels = {name: ngram_entropy(text, n) for n, name in
              ((1, "unigram: no input"), (2, "bigram: this character"), (3, "trigram: last two"))}
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        for key, label, colour in (("baseline", "reference recipe, our trainer", "#2171b5"),
                                   ("fast", "fast recipe", "#d94801")):
            rows = result[key]["history"]
            ax.plot([r["step"] for r in rows], [r["val_loss"] for r in rows], "o-", ms=4, lw=2,
                    color=colour, label=f"{label}, validation")
        for name, value in levels.items():
            ax.axhline(value, color="#525252", ls="--", lw=1)
            if name.startswith("trigram"):  # below its line, left, where the curves are still high
                ax.text(20, value - 0.03, f"{name} {value:.2f}", ha="left", va="top", fontsize=12)
            else:
                ax.text(2000, value + 0.03, f"{name} {value:.2f}", ha="right", va="bottom", fontsize=12)
        ax.set_xlim(0, 2050)
        ax.set_ylim(1.6, 3.6)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("loss (nats / character)")
        ax.legend(frameon=False, loc="upper right", bbox_to_anchor=(1, 0.8), fontsize=12)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
