"""Tokens per character against vocabulary size, for a BPE trained on Shakespeare (tokenization page)."""

import matplotlib.pyplot as plt

from snippets.tokenizers.bpe import ByteLevelBPE, train_fast
from snippets.training.corpus import tiny_shakespeare
from snippets.tokenizers.stats import SAMPLE_SENTENCES, tokens_per_char

SIZES = (256, 320, 384, 512, 768, 1024)


def draw() -> plt.Figure:
    text = tiny_shakespeare()
    # BPE merges are a prefix code of the training run: the first k merges are the vocab-(256+k) model
    merges = train_fast(text[:300_000], max(SIZES))
    held_out = {"Shakespeare (held out)": text[-20_000:]} | SAMPLE_SENTENCES
    curves = {name: [] for name in held_out}
    for size in SIZES:
        tok = ByteLevelBPE.from_merges(merges[: size - 256])
        for name, value in tokens_per_char(tok.encode, held_out).items():
            curves[name].append(value)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, values in curves.items():
        ax.plot(SIZES, values, marker="o", lw=2.5 if name.startswith("Shakespeare") else 1.2, label=name)
    ax.set_xlabel("vocabulary size (256 bytes + merges)")
    ax.set_ylabel("tokens per character")
    ax.set_title("A BPE trained on English: more merges help English only")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return fig
