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
# # Embeddings lab
#
# Two experiments with the code of the chapter
# [Word embeddings and vector representations](../../word_embeddings_and_vector_representations/).
# First, train skip-gram vectors on a few of Shakespeare's plays and ask for neighbours and
# analogies: change the words, the number of plays, the window or the epochs. Second, index
# MiniLM sentence vectors of lines from the plays with IVF and HNSW and move `nprobe` and `ef`:
# recall@10 (against exact search) and the time per query move together.

# %%
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import matplotlib.pyplot as plt
import numpy as np
import torch

from snippets.embeddings.encoder import encode, load_minilm
from snippets.embeddings.evaluation import analogy_predictions, nearest, unit_rows
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec, Word2VecConfig
from snippets.retrieval.exact import exact_search
from snippets.retrieval.hnsw import HNSW
from snippets.retrieval.ivf import IVFIndex, kmeans

torch.manual_seed(0)
n_plays = 3          # try 8 (slower, better vectors)
window, epochs = 5, 3
query_words = ["king", "love", "night", "sword"]
analogies = [("king", "queen", "lord"), ("he", "she", "him"), ("thou", "you", "thy")]

# %%
sentences = play_sentences(max_plays=n_plays)
start = time.perf_counter()
w2v = Word2Vec.train(sentences, Word2VecConfig(dim=50, window=window, epochs=epochs, min_count=3), seed=0)
print(f"{sum(map(len, sentences)):,} words, vocabulary {len(w2v.words):,}, "
      f"trained in {time.perf_counter() - start:.1f} s")
vectors = w2v.w_in.numpy()
for word in query_words:
    if word in w2v.index:
        print(f"{word:>6} ->", ", ".join(w for w, _ in nearest(vectors, w2v.words, w2v.index, word, 6)))
unit = unit_rows(vectors)
for a, b, c in analogies:
    if all(w in w2v.index for w in (a, b, c)):
        q = np.array([[w2v.index[a], w2v.index[b], w2v.index[c]]])
        print(f"{a} : {b} :: {c} : {w2v.words[analogy_predictions(unit, q)[0]]}")

# %% [markdown]
# Now retrieval. Lines of the plays become MiniLM vectors (unit length, 384 wide). Exact search
# gives the true top 10; the indexes approximate it. Change `nlist`, `nprobes`, `M` and `efs`.

# %%
tokenizer, model = load_minilm()
lines = [" ".join(s) for s in play_sentences(max_plays=2) if len(s) > 3][:1000]
x = encode(tokenizer, model, lines, batch_size=128)
queries, db = x[:50], x[50:]
_, truth = exact_search(db, queries, 10, "dot")
recall = lambda found: np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])

nlist, nprobes = 32, [1, 2, 4, 8, 16, 32]
ivf = IVFIndex(kmeans(db, nlist, iters=10), metric="dot").add(db)
ivf_points = []
for nprobe in nprobes:
    start = time.perf_counter()
    found = ivf.search(queries, 10, nprobe)[1]
    ivf_points.append(((time.perf_counter() - start) / len(queries) * 1e3, recall(found)))

M, efs = 8, [10, 20, 40, 80, 160]
graph = HNSW(db.shape[1], M=M, ef_construction=64, seed=0).add(db)
hnsw_points = []
for ef in efs:
    start = time.perf_counter()
    found = graph.search(queries, 10, ef=ef)[1]
    hnsw_points.append(((time.perf_counter() - start) / len(queries) * 1e3, recall(found)))

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(*zip(*ivf_points), "o-", label=f"IVF, nlist {nlist}, nprobe {nprobes}")
ax.plot(*zip(*hnsw_points), "s-", label=f"HNSW, M {M}, ef {efs}")
ax.set_xlabel("ms per query")
ax.set_ylabel("recall@10")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
