"""Paired comparisons of the word2vec benchmark's models, item by item, for the paired bootstrap.

Trains the models of the word2vec and optimizer benchmarks again with the same settings and seeds
(ours = SGD, gensim with seeds 1 and 2, SparseAdam) on all 38 plays, and stores, for each model,
the cosine of every WordSim-353 and SimLex-999 pair and whether each Google and Shakespeare analogy
was answered (3CosAdd, query words excluded), so that a page can compare two models on the *same*
items with `paired_bootstrap_spearman` / `paired_bootstrap_accuracy`. Also, for our model, how
often the unrestricted 3CosAdd answer is a query word. Quality only, no timings.
Writes results/embeddings_paired.json.
"""

import json

import numpy as np
import torch

from benchmarks.bench_embeddings_optimizers import train_sparse_adam
from benchmarks.bench_embeddings_word2vec import CONFIG, train_gensim
from benchmarks.report import RESULTS, load_average, machine
from snippets.embeddings.evaluation import (SHAKESPEARE_RELATIONS, analogy_accuracy, analogy_correct,
                                            load_analogies, load_similarity, pair_cosines, query_word_share,
                                            relation_analogies)
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec


def items(vectors: np.ndarray, index: dict[str, int], sets: dict) -> dict:
    """Per-item scores: cosines (None where not covered) and analogy outcomes as a '-01' string."""
    out = {}
    for name, pairs in sets["similarity"].items():
        out[name] = [None if np.isnan(c) else round(float(c), 6) for c in pair_cosines(vectors, index, pairs)]
    for name, questions in sets["analogies"].items():
        out[name] = "".join("-01"[int(x) + 1] for x in analogy_correct(vectors, index, questions))
    return out


def evaluation_sets() -> dict:
    return {"similarity": {"wordsim353": load_similarity("wordsim353.tsv"),
                           "simlex999": load_similarity("simlex999.txt")},
            "analogies": {"google": [q for sec in load_analogies().values() for q in sec],
                          "shakespeare": [q for sec in relation_analogies(SHAKESPEARE_RELATIONS).values()
                                          for q in sec]}}


def main() -> None:
    torch.set_num_threads(1)
    sentences = play_sentences()
    sets = evaluation_sets()
    load_before = load_average()
    ours = Word2Vec.train(sentences, CONFIG, seed=0)
    g1, g2 = train_gensim(sentences, seed=1), train_gensim(sentences, seed=2)
    adam, _ = train_sparse_adam(sentences)
    models = {"ours": (ours.w_in.numpy(), ours.index), "gensim": (g1.wv.vectors, g1.wv.key_to_index),
              "gensim, seed 2": (g2.wv.vectors, g2.wv.key_to_index), "SparseAdam": (adam.w_in.numpy(), adam.index)}
    data = {"models": {name: items(v, i, sets) for name, (v, i) in models.items()},
            "human": {name: [s for *_, s in pairs] for name, pairs in sets["similarity"].items()}}
    v, index = models["ours"]
    data["exclusion"] = {name: {"with": analogy_accuracy(v, index, q)[0],
                                "without": analogy_accuracy(v, index, q, exclude=False)[0],
                                "query_word_share": query_word_share(v, index, q)}
                         for name, q in sets["analogies"].items()}
    data["note"] = (f"All 38 plays, the word2vec benchmark's settings. {machine()}; load average "
                    f"{load_before} before, {load_average()} after.")
    (RESULTS / "embeddings_paired.json").write_text(json.dumps(data))
    for name, r in data["exclusion"].items():
        print(name, r)


if __name__ == "__main__":
    main()
