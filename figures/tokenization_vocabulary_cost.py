"""The vocabulary's share of a model's parameters against V, each published config with its own
width and depth held fixed; a dot marks the vocabulary it shipped with (current-vocabularies page)."""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from snippets.models.vocabulary import PUBLISHED, vocabulary_cost

SIZES = np.geomspace(8_000, 512_000, 25).round().astype(int)


def curve(name: str) -> list[float]:
    config = PUBLISHED[name]
    return [vocabulary_cost(dataclasses.replace(config, vocab_size=int(v))).param_share for v in SIZES]


def draw() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, config in PUBLISHED.items():
        (line,) = ax.plot(SIZES, curve(name), lw=1.5, label=name)
        ax.plot([config.vocab_size], [vocabulary_cost(config).param_share], marker="o",
                color=line.get_color(), ms=7)
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size V (log scale)")
    ax.set_ylabel("embedding + unembedding share of parameters")
    ax.set_title("The same V costs a small model far more than a large one")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
