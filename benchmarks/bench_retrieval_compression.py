"""Compressed vectors: recall@10 against bytes per vector on real MiniLM vectors (chapter 7).

The vectors of the ANN benchmark: 20,000 rows of MiniLM's WordPiece embedding table (unit length,
384 dimensions, float32: 1,536 bytes each), queried with 1,000 other rows; the truth is exact
search by dot product (for unit vectors the same order as L2). Arms: int8 scalar quantisation
(ours, equal to faiss's QT_8bit code for code), product quantisation with M = 8 ... 96 bytes
(ours trained by our k-means, and faiss's IndexPQ trained by faiss, same data, same M, 8 bits),
IVF-PQ (128 cells, M = 32) at two nprobe, and 1-bit codes by Hamming distance, alone and with
the 100 nearest codes rescored by the full vectors. Recall only: no timing, so the load does not
change the numbers. Writes results/retrieval_compression.json and .md.
"""

import json

import faiss
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import load_minilm
from snippets.retrieval.exact import exact_search, normalize
from snippets.retrieval.pq import IVFPQIndex, PQIndex, train_pq
from snippets.retrieval.quantization import ScalarQuantizer8, binary_codes, binary_search

N, QUERIES, K = 20000, 1000, 10
PQ_M = (8, 16, 32, 48, 96)
IVF_NLIST, IVF_M, IVF_NPROBES = 128, 32, (8, 32)
RESCORE = 100


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def faiss_pq_recall(x: np.ndarray, q: np.ndarray, m: int, truth: np.ndarray) -> float:
    ref = faiss.IndexPQ(x.shape[1], m, 8)
    ref.train(x)
    ref.add(x)
    return recall(ref.search(q, K)[1], truth)


def main() -> None:
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    threadpool_limits(1)
    load_before = load_average()
    rng = np.random.default_rng(0)
    _, model = load_minilm()
    table = normalize(model.embeddings.tok.weight.detach().numpy().astype(np.float32))
    pick = rng.permutation(len(table))
    x, q = table[pick[:N]], table[pick[N:N + QUERIES]]
    width = x.shape[1]
    _, truth = exact_search(x, q, K, "dot")
    rows = [{"method": "float32, exact", "bytes": 4 * width, "recall": 1.0}]

    sq = ScalarQuantizer8.train(x)
    rows.append({"method": "int8 scalar", "bytes": width,
                 "recall": recall(exact_search(sq.decode(sq.encode(x)), q, K, "dot")[1], truth)})
    for m in PQ_M:
        ours = recall(PQIndex(train_pq(x, m)).add(x).search(q, K)[1], truth)
        rows.append({"method": f"PQ, M = {m}", "bytes": m, "recall": ours,
                     "faiss_recall": faiss_pq_recall(x, q, m, truth)})
        print(rows[-1], flush=True)
    ivf = IVFPQIndex.train(x, IVF_NLIST, IVF_M).add(x)
    for nprobe in IVF_NPROBES:
        rows.append({"method": f"IVF-PQ, {IVF_NLIST} cells, M = {IVF_M}, nprobe {nprobe}",
                     "bytes": IVF_M, "recall": recall(ivf.search(q, K, nprobe)[1], truth)})
    codes = binary_codes(x)
    rows.append({"method": "binary, Hamming", "bytes": width // 8,
                 "recall": recall(binary_search(x, codes, q, K)[1], truth)})
    rows.append({"method": f"binary, {RESCORE} rescored by float32", "bytes": width // 8,
                 "recall": recall(binary_search(x, codes, q, K, rescore=RESCORE)[1], truth)})

    result = {"n": N, "queries": QUERIES, "dim": width, "rows": rows, "machine": machine(),
              "load_before": load_before, "load_after": load_average()}
    (RESULTS / "retrieval_compression.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["| Method | Bytes per vector | Compression | Recall@10 | faiss, same settings |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        theirs = f"{r['faiss_recall']:.3f}" if "faiss_recall" in r else ""
        lines.append(f"| {r['method']} | {r['bytes']:,} | {4 * width / r['bytes']:.0f}x | {r['recall']:.3f} | {theirs} |")
    lines += ["", f"{N:,} rows of MiniLM's WordPiece embedding table ({width} dimensions, unit length), "
              f"{QUERIES:,} other rows as queries; the truth is exact search. PQ and IVF-PQ codes are 8 bits a "
              f"sub-space (256 centroids); IVF-PQ stores the residual from the cell's centroid and also keeps "
              f"each vector's cell id. The rescored binary arm reads the full vectors of {RESCORE} candidates "
              f"per query, which must be kept somewhere (on disk, say). Recall only, no timing. "
              f"{machine()}; load average {load_before} before, {result['load_after']} after."]
    write_markdown("retrieval_compression.md", lines)


if __name__ == "__main__":
    main()
