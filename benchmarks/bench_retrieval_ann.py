"""Exact search against approximate indexes (our HNSW and IVF beside hnswlib and faiss), recall@10 vs time.

Real vectors: 20,000 rows of MiniLM's 30,522 x 384 WordPiece embedding table (unit length),
queried with 200 other rows. Noise: 5,000 Gaussian vectors in 384 dimensions (unit length),
where no structure helps an index. Same M / efConstruction / ef for both HNSWs; our IVF is given
faiss's trained centroids, so their top-k can be compared id for id. Query times are per query,
one thread. Writes results/retrieval_ann.md and .json.
"""

import json
import time

import faiss
import hnswlib
import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import load_minilm
from snippets.retrieval.exact import exact_search, normalize
from snippets.retrieval.hnsw import HNSW
from snippets.retrieval.ivf import IVFIndex

M, EF_CONSTRUCTION, EFS, NLIST, NPROBES, K = 16, 64, (10, 16, 32, 64, 128), 128, (1, 4, 16, 128), 10


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def per_query(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n * 1e3   # ms


def run(name: str, x: np.ndarray, q: np.ndarray) -> dict:
    out: dict = {"name": name, "n": len(x), "dim": x.shape[1]}
    _, truth = exact_search(x, q, K, "dot")
    out["exact_batched_ms"] = per_query(lambda: exact_search(x, q, K, "dot"), len(q))
    out["exact_single_ms"] = per_query(lambda: [exact_search(x, q[i:i + 1], K, "dot") for i in range(len(q))], len(q))
    start = time.perf_counter()
    ours = HNSW(x.shape[1], M=M, ef_construction=EF_CONSTRUCTION, seed=0).add(x)
    out["ours_build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    ref = hnswlib.Index(space="ip", dim=x.shape[1])
    ref.init_index(max_elements=len(x), M=M, ef_construction=EF_CONSTRUCTION, random_seed=0)
    ref.add_items(x, num_threads=1)
    out["hnswlib_build_s"] = time.perf_counter() - start
    out["hnsw"] = []
    for ef in EFS:
        ours.distance_count = 0
        ids_box = {}
        t_ours = per_query(lambda: ids_box.setdefault("o", ours.search(q, K, ef=ef)[1]), len(q))
        ref.set_ef(ef)
        t_ref = per_query(lambda: ids_box.setdefault("r", ref.knn_query(q, k=K, num_threads=1)[0]), len(q))
        out["hnsw"].append({"ef": ef, "ours_recall": recall(ids_box["o"], truth), "ours_ms": t_ours,
                            "ours_distances": ours.distance_count / len(q),
                            "hnswlib_recall": recall(ids_box["r"], truth), "hnswlib_ms": t_ref})
        print(out["hnsw"][-1], flush=True)
    quantizer = faiss.IndexFlatL2(x.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, x.shape[1], NLIST, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x)
    ivf.add(x)
    ours_ivf = IVFIndex(quantizer.reconstruct_n(0, NLIST), metric="dot").add(x)
    out["ivf"] = []
    for nprobe in NPROBES:
        ivf.nprobe = nprobe
        box = {}
        t_ref = per_query(lambda: box.setdefault("r", ivf.search(q, K)[1]), len(q))
        t_ours = per_query(lambda: box.setdefault("o", ours_ivf.search(q, K, nprobe)[1]), len(q))
        out["ivf"].append({"nprobe": nprobe, "ours_recall": recall(box["o"], truth), "ours_ms": t_ours,
                           "faiss_recall": recall(box["r"], truth), "faiss_ms": t_ref,
                           "same_top_k": float(np.mean((box["o"] == box["r"]).all(1)))})
        print(out["ivf"][-1], flush=True)
    return out


def main() -> None:
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    _, model = load_minilm()
    table = normalize(model.embeddings.word_embeddings.weight.detach().numpy().astype(np.float32))
    pick = rng.permutation(len(table))
    real_x, real_q = table[pick[:20000]], table[pick[20000:20200]]
    noise = normalize(rng.normal(size=(5200, 384))).astype(np.float32)
    load_before = load_average()
    sets = []
    for name, x, q in (("MiniLM token embeddings", real_x, real_q), ("Gaussian noise", noise[:5000], noise[5000:])):
        sets.append(run(name, x, q))
        write(sets, load_before)   # after each set: a cut-off run still leaves the first table


def write(sets: list[dict], load_before: str) -> None:
    load_after = load_average()
    rows = []
    for s in sets:
        rows += [f"**{s['name']}** ({s['n']:,} x {s['dim']}, 200 queries). Exact search: "
                 f"{s['exact_batched_ms']:.3f} ms per query when the 200 queries go as one matrix product, "
                 f"{s['exact_single_ms']:.3f} ms one at a time. HNSW build (M = {M}, efConstruction = "
                 f"{EF_CONSTRUCTION}): ours {s['ours_build_s']:.0f} s, hnswlib {s['hnswlib_build_s']:.1f} s.", "",
                 "| ef | ours recall@10 | hnswlib recall@10 | ours ms/query | hnswlib ms/query | ours distances/query |",
                 "|---:|---:|---:|---:|---:|---:|"]
        rows += [f"| {h['ef']} | {h['ours_recall']:.3f} | {h['hnswlib_recall']:.3f} | {h['ours_ms']:.2f} | "
                 f"{h['hnswlib_ms']:.3f} | {h['ours_distances']:,.0f} |" for h in s["hnsw"]]
        rows += ["", f"| nprobe (nlist = {NLIST}) | ours recall@10 | faiss recall@10 | same top-10 as faiss | "
                 "ours ms/query | faiss ms/query |", "|---:|---:|---:|---:|---:|---:|"]
        rows += [f"| {v['nprobe']} | {v['ours_recall']:.3f} | {v['faiss_recall']:.3f} | {v['same_top_k']:.1%} | "
                 f"{v['ours_ms']:.2f} | {v['faiss_ms']:.3f} |" for v in s["ivf"]]
        rows.append("")
    rows.append(f"{machine()}; one thread for torch, faiss and hnswlib; load average {load_before} before, "
                f"{load_after} after" + (" (above the 2 cores: the machine was shared with other jobs, so absolute "
                "times are inflated; recalls are not affected)." if max(float(load_before.split(' / ')[0]),
                float(load_after.split(' / ')[0])) > 2 else "."))
    write_markdown("retrieval_ann.md", rows)
    (RESULTS / "retrieval_ann.json").write_text(json.dumps(sets, indent=1))


if __name__ == "__main__":
    main()
