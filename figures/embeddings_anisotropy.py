"""Anisotropy of MiniLM's token states by layer, raw and after centring, all-but-the-top and whitening.

Computed at build time on 80 lines of the plays (every token of every line is a sample).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from snippets.embeddings.anisotropy import all_but_the_top, centre, mean_cosine, whitening  # noqa: E402
from snippets.embeddings.encoder import hidden_states, load_minilm  # noqa: E402
from snippets.embeddings.text import play_sentences  # noqa: E402


def draw() -> plt.Figure:
    tokenizer, model = load_minilm()
    lines = [" ".join(s) for s in play_sentences(max_plays=3)[::50][:80]]
    states, masks = hidden_states(tokenizer, model, lines, batch_size=80)
    curves = {"raw": [], "centred": [], "all-but-the-top (3)": [], "whitened": []}
    layers = range(states[0].shape[0])
    for layer in layers:
        x = states[0][layer][masks[0].bool()].numpy().astype(np.float64)
        w, mu = whitening(x)
        curves["raw"].append(mean_cosine(x))
        curves["centred"].append(mean_cosine(centre(x)))
        curves["all-but-the-top (3)"].append(mean_cosine(all_but_the_top(x, 3)))
        curves["whitened"].append(mean_cosine((x - mu) @ w))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, values in curves.items():
        ax.plot(list(layers), values, marker="o", lw=2.2 if name == "raw" else 1.2, label=name)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("layer (0 = input embeddings)")
    ax.set_ylabel("mean cosine of random token pairs")
    ax.set_title("all-MiniLM-L6-v2: anisotropy by layer, and the post-hoc fixes")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
