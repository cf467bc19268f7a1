# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tokenization lab
#
# Two experiments with the tokenizers built in the chapter
# [Tokenization](../../tokenization/). First, watch byte-level BPE learn its merges on a single
# sentence: each step merges the most frequent adjacent pair (ties go to the smaller pair of
# ids) and the sentence gets shorter. Second, compare how many tokens different tokenizers
# spend on the same text. Change the sentence, the regex pattern or the vocabulary sizes and
# re-run.

# %%
import matplotlib.pyplot as plt

from snippets.tokenizers.bpe import ByteLevelBPE, train_fast
from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.tokenizers.unigram import UnigramLM
from snippets.tokenizers.wordpiece import WordPiece

sentence = "the cat sat on the mat and the hat sat on the cat"  # try your own
pattern = "gpt2"  # "gpt2", "gpt4" or None (no pre-tokenization: merges may cross spaces)
n_merges = 12

# %%
merges = train_fast(sentence, 256 + n_merges, pattern)
for k in range(len(merges) + 1):
    tok = ByteLevelBPE.from_merges(merges[:k], pattern)
    ids = tok.encode(sentence)
    shown = "|".join(tok.decode([i]) for i in ids)
    new = "" if k == 0 else f"merge {k:2d}: {tok.decode([256 + k - 1])!r:8}"
    print(f"{new:20} {len(ids):3d} tokens  {shown}")

# %% [markdown]
# Now the same comparison on real text: every tokenizer is trained on the first part of tiny
# Shakespeare and measured on a held-out passage. The character tokenizer is the baseline at one
# token per character. WordPiece and Unigram are slow to train in pure Python, so they see a
# smaller slice. Our WordPiece ranks merges by the ratio score of the Hugging Face course, which
# favours cohesive pairs (parts that rarely occur apart) whatever their count, so its first
# entries are often rare and at a small vocabulary it compresses less than BPE and Unigram.
# (The `tokenizers` library's WordPiece trainer merges by frequency, like BPE.)

# %%
text = tiny_shakespeare()
train, held_out = text[:200_000], text[-5_000:]
bpe_vocab = 512  # try 300 or 1000
small = 512  # WordPiece and Unigram train on a smaller slice: they are slower in pure Python

tokenizers = {
    "characters": CharTokenizer.train(text).encode,
    f"byte-level BPE {bpe_vocab}": ByteLevelBPE.train(train, bpe_vocab).encode,
    f"WordPiece {small}": WordPiece.train(train[:20_000], small).encode,
    f"Unigram {small}": UnigramLM.train(train[:20_000], small, seed_size=1500).encode,
}
counts = {name: len(encode(held_out)) for name, encode in tokenizers.items()}
for name, n in counts.items():
    print(f"{name:22} {n:6d} tokens  {len(held_out) / n:5.2f} characters per token")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(counts), list(counts.values()))
ax.set_xlabel(f"tokens for {len(held_out):,} held-out characters")
plt.tight_layout()
