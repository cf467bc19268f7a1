"""Paired-bootstrap 95% intervals of the difference between two word2vec models on the same
test items, read from results/embeddings_paired.json and computed with
snippets.embeddings.evaluation's paired bootstrap as the analogies page computes them, with
fewer resamples."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from snippets.embeddings.evaluation import paired_bootstrap_accuracy, paired_bootstrap_spearman
from snippets.results import load

COMPARISONS = (("ours", "gensim", "ours − gensim", "#d94801"),
               ("gensim, seed 2", "gensim", "gensim seed 2 − seed 1", "#2171b5"))
SIMILARITY = ("wordsim353", "simlex999")
ANALOGY = ("google", "shakespeare")
N_BOOT = 2_000  # the page prints 10,000 resamples; 2,000 keep draw() fast and move an end by < 0.01


def interval(models: dict, human: dict, a: str, b: str, test: str) -> tuple[float, float, float]:
    """a − b on the items both cover: (difference, low, high), as the page computes it."""
    if test in human:
        x, y = (np.array(models[m][test], dtype=float) for m in (a, b))
        both = ~np.isnan(x) & ~np.isnan(y)
        return paired_bootstrap_spearman(x[both], y[both], np.array(human[test])[both], n_boot=N_BOOT)
    x, y = (np.array(["-01".index(c) - 1 for c in models[m][test]]) for m in (a, b))
    both = (x >= 0) & (y >= 0)
    return paired_bootstrap_accuracy(x[both], y[both], n_boot=N_BOOT)


def draw() -> Figure:
    run = load("embeddings_paired")
    models, human = run["models"], run["human"]
    with plt.rc_context({"font.size": 13}):
        fig, axes = plt.subplots(2, 1, figsize=(6.0, 4.8))
        for ax, tests, scale, unit in ((axes[0], SIMILARITY, 1, "difference in Spearman ρ"),
                                       (axes[1], ANALOGY, 100, "difference in accuracy (points)")):
            for t, test in enumerate(tests):
                for c, (a, b, label, colour) in enumerate(COMPARISONS):
                    d, low, high = (v * scale for v in interval(models, human, a, b, test))
                    y = t + 0.18 - 0.36 * c
                    ax.plot([low, high], [y, y], color=colour, lw=3,
                            label=label if t == 0 else None)
                    ax.plot(d, y, "o", color=colour, ms=7, mec="black")
            ax.axvline(0, color="black", lw=1)
            ax.set_yticks(range(len(tests)), tests)
            ax.set_ylim(len(tests) - 0.5, -0.5)
            ax.set_xlabel(unit)
            ax.grid(axis="x", alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
        axes[0].legend(frameon=False, fontsize=12, loc="upper right", bbox_to_anchor=(1.0, 1.35), ncol=2)
        fig.tight_layout()
    return fig
