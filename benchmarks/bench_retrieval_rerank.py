"""A second stage on the chatterbot QA set: MaxSim over MiniLM's token vectors re-ranking two first stages.

The 749 questions and 871 answers of the retrieval benchmark. First stages: BM25 and the MiniLM
bi-encoder (mean-pooled, unit length), each giving its top 50 per question; MaxSim (ColBERT's
late-interaction score) over the same MiniLM's last-layer token vectors re-orders those 50.
MiniLM was trained for mean-pooled vectors, not for MaxSim, so this measures late interaction
without ColBERT's training. Per-question nDCG@10 differences get a paired bootstrap interval
(embeddings.evaluation.paired_bootstrap_accuracy on per-question values). Cost: the vectors kept
per answer and the query-time work. Writes results/retrieval_rerank.json and .md.
"""

import json
import os
import time

import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import encode, load_minilm
from snippets.embeddings.evaluation import paired_bootstrap_accuracy
from snippets.embeddings.text import words
from snippets.retrieval.bm25 import BM25
from snippets.retrieval.evaluate import evaluate_runs, runs_from_scores
from snippets.retrieval.late_interaction import rerank, token_vectors
from snippets.retrieval.metrics import ndcg_at
from snippets.retrieval.qa import load_qa

DEPTH = 50


def as_runs(scores: np.ndarray, ids: np.ndarray) -> list[dict[str, float]]:
    return [{str(d): float(s) for s, d in zip(row_s, row_d)} for row_s, row_d in zip(scores, ids)]


def top(scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return np.take_along_axis(scores, ids, 1), ids


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    qa = load_qa()
    tok, model = load_minilm()
    bm25 = BM25([words(d) for d in qa.documents])
    bm25_scores = np.array([bm25.scores(words(q)) for q in qa.questions])
    dense = encode(tok, model, qa.questions) @ encode(tok, model, qa.documents).T
    start = time.perf_counter()
    doc_tokens = token_vectors(tok, model, qa.documents)
    encode_s = time.perf_counter() - start
    query_tokens = token_vectors(tok, model, qa.questions)

    runs, seconds = {}, {}
    for name, first in (("BM25", bm25_scores), ("MiniLM bi-encoder", dense)):
        s, ids = top(first, DEPTH)
        runs[name] = as_runs(s, ids)
        start = time.perf_counter()
        reranked = rerank(query_tokens, doc_tokens, ids, DEPTH)
        seconds[name] = (time.perf_counter() - start) / len(qa.questions) * 1e3
        runs[f"{name}, top {DEPTH} re-ranked by MaxSim"] = as_runs(*reranked)
    runs["MaxSim over all answers"] = runs_from_scores(
        np.array([[float((q @ d.T).max(1).sum()) for d in doc_tokens] for q in query_tokens]))
    results = {name: evaluate_runs(r, qa.qrels) for name, r in runs.items()}

    ndcg = {name: np.array([ndcg_at(r, q, 10) for r, q in zip(rs, qa.qrels)]) for name, rs in runs.items()}
    base = "MiniLM bi-encoder"
    intervals = {name: paired_bootstrap_accuracy(ndcg[name], ndcg[base]) for name in runs if name != base}
    tokens_per_answer = float(np.mean([len(d) for d in doc_tokens]))
    busy = max(os.getloadavg()[0], float(load_before.split(" / ")[0])) > (os.cpu_count() or 1)
    result = {"depth": DEPTH, "results": results, "ndcg_vs_bi_encoder": intervals,
              "rerank_ms_per_query": seconds, "tokens_per_answer": tokens_per_answer,
              "token_encoding_s": encode_s, "machine": machine(), "load_before": load_before,
              "load_after": load_average()}
    (RESULTS / "retrieval_rerank.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = ["| Retriever | recall@10 | MRR@10 | nDCG@10 | nDCG@10 against the bi-encoder (95% paired bootstrap) |",
            "|---|---:|---:|---:|---|"]
    for name, r in results.items():
        diff = ("" if name == base else
                "{:+.3f} [{:+.3f}, {:+.3f}]".format(*intervals[name]))
        rows.append(f"| {name} | {r['recall@10']:.3f} | {r['MRR@10']:.3f} | {r['nDCG@10']:.3f} | {diff} |")
    rows += ["", f"{len(qa.questions)} questions, {len(qa.documents)} answers, chatterbot-corpus English. "
             f"MaxSim uses all-MiniLM-L6-v2's last-layer token vectors, unit length, without [CLS] and [SEP]: "
             f"{tokens_per_answer:.1f} vectors of 384 floats per answer on average, against one for the "
             f"bi-encoder. Re-ranking the top {DEPTH} took {seconds[base]:.1f} ms per question (one thread"
             + ("; measured on a busy machine, so the time is inflated" if busy else "") + "). "
             f"{machine()}; load average {load_before} before, {result['load_after']} after."]
    write_markdown("retrieval_rerank.md", rows)


if __name__ == "__main__":
    main()
