"""A trained cross-encoder against MaxSim and the bi-encoder, as a second stage on held-out questions.

The chatterbot QA set is split by question (`qa.split_questions`, seed 0: 499 to train, 250 held
out). A copy of all-MiniLM-L6-v2 is fine-tuned as a cross-encoder ("[CLS] q [SEP] d [SEP]", a
linear map of [CLS]) on the training questions only: each sees one relevant answer among 7 hard
negatives drawn from the top 10 of BM25 and of the bi-encoder, known answers removed and, for the
bi-encoder's list, anything scored above 0.95 of the best answer's cosine dropped as a probable
false negative (`hard_negatives`); the loss is listwise cross-entropy. On the held-out questions
only, BM25 and the bi-encoder each propose 20 answers, re-ordered by MaxSim over MiniLM's token
vectors and by the cross-encoder. Per-question nDCG@10 differences get paired bootstrap
intervals; cost is the second stage's milliseconds per question on one thread, the question's own
encoding included. Writes results/retrieval_cross_encoder.json and .md.
"""

import json
import os
import random
import time

import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import encode, load_minilm
from snippets.embeddings.evaluation import paired_bootstrap_accuracy
from snippets.embeddings.text import words
from snippets.retrieval.bm25 import BM25
from snippets.retrieval.cross_encoder import CrossEncoder, cross_encoder_rerank, listwise_loss, score_pairs
from snippets.retrieval.evaluate import evaluate_runs
from snippets.retrieval.hard_negatives import hard_negatives
from snippets.retrieval.late_interaction import rerank, token_vectors
from snippets.retrieval.metrics import ndcg_at, recall_at
from snippets.retrieval.qa import load_qa, split_questions

DEPTH, MAX_LEN = 20, 48
EPOCHS, QUESTIONS_PER_STEP, NEGATIVES, LR, HEAD_LR = 4, 8, 7, 1e-4, 1e-3


def top(scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return np.take_along_axis(scores, ids, 1), ids


def as_runs(scores: np.ndarray, ids: np.ndarray) -> list[dict[str, float]]:
    return [{str(d): float(s) for s, d in zip(row_s, row_d)} for row_s, row_d in zip(scores, ids)]


def train_cross_encoder(qa, train: list[int], pools: dict[int, list[int]], seed: int = 0) -> tuple[CrossEncoder, list[float]]:
    """Listwise fine-tuning of a fresh MiniLM copy; the loss of every step is returned too."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok, bert = load_minilm()
    model = CrossEncoder(bert).train()
    steps = EPOCHS * -(-len(train) // QUESTIONS_PER_STEP)
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": LR},     # the new head starts at zero
                             {"params": model.head.parameters(), "lr": HEAD_LR}], weight_decay=0.01)
    warmup = max(1, steps // 10)       # linear warm-up, then linear decay to zero
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    losses = []
    for _ in range(EPOCHS):
        order = rng.sample(train, len(train))
        for s in range(0, len(order), QUESTIONS_PER_STEP):
            queries, docs = [], []
            for i in order[s:s + QUESTIONS_PER_STEP]:
                group = [rng.choice(sorted(qa.qrels[i], key=int))] + [str(d) for d in rng.sample(pools[i], NEGATIVES)]
                queries += [qa.questions[i]] * len(group)
                docs += [qa.documents[int(d)] for d in group]
            scores = score_pairs(model, tok, queries, docs, MAX_LEN).view(-1, 1 + NEGATIVES)   # (B, 1 + n)
            loss = listwise_loss(scores)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    return model.eval(), losses


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    start_cpu = time.process_time()
    qa = load_qa()
    tok, minilm = load_minilm()
    train, test = split_questions(len(qa.questions))
    bm25 = BM25([words(d) for d in qa.documents])
    bm25_scores = np.array([bm25.scores(words(q)) for q in qa.questions])
    doc_vectors = encode(tok, minilm, qa.documents)
    dense = encode(tok, minilm, qa.questions) @ doc_vectors.T

    # training negatives: BM25's and the bi-encoder's top 10 that are not answers, false negatives filtered
    train_qrels = [qa.qrels[i] for i in train]
    from_dense = hard_negatives(dense[train], train_qrels, 10, max_fraction=0.95)
    from_bm25 = hard_negatives(bm25_scores[train], train_qrels, 10)
    pools = {i: list(dict.fromkeys(a + b)) for i, a, b in zip(train, from_dense, from_bm25)}
    start = time.process_time()
    model, losses = train_cross_encoder(qa, train, pools)
    train_cpu_s = time.process_time() - start

    questions = [qa.questions[i] for i in test]
    qrels = [qa.qrels[i] for i in test]
    start = time.perf_counter()
    query_vectors = np.vstack([encode(tok, minilm, [q]) for q in questions])    # one question at a time
    bi_ms = (time.perf_counter() - start) / len(test) * 1e3
    start = time.perf_counter()
    first = {"BM25": bm25_scores[test], "bi-encoder": query_vectors @ doc_vectors.T}
    bi_ms += (time.perf_counter() - start) / len(test) * 1e3
    doc_tokens = token_vectors(tok, minilm, qa.documents)
    runs, ms = {}, {"bi-encoder": bi_ms}
    for name, scores in first.items():
        s, ids = top(scores, DEPTH)
        runs[name] = as_runs(s, ids)
        start = time.perf_counter()
        query_tokens = [token_vectors(tok, minilm, [q])[0] for q in questions]
        reranked = rerank(query_tokens, doc_tokens, ids, DEPTH)
        ms[f"{name}, then MaxSim"] = (time.perf_counter() - start) / len(test) * 1e3
        runs[f"{name}, then MaxSim"] = as_runs(*reranked)
        start = time.perf_counter()
        reranked = cross_encoder_rerank(model, tok, questions, qa.documents, ids, DEPTH, MAX_LEN)
        ms[f"{name}, then cross-encoder"] = (time.perf_counter() - start) / len(test) * 1e3
        runs[f"{name}, then cross-encoder"] = as_runs(*reranked)

    results = {name: evaluate_runs(r, qrels) for name, r in runs.items()}
    ndcg = {name: np.array([ndcg_at(r, g, 10) for r, g in zip(rs, qrels)]) for name, rs in runs.items()}
    base = "bi-encoder"
    intervals = {name: paired_bootstrap_accuracy(ndcg[name], ndcg[base]) for name in runs if name != base}
    versus_maxsim = {f: paired_bootstrap_accuracy(ndcg[f"{f}, then cross-encoder"], ndcg[f"{f}, then MaxSim"])
                     for f in first}
    recall_depth = {f: float(np.mean([recall_at(r, g, DEPTH) for r, g in zip(runs[f], qrels)])) for f in first}
    busy = max(os.getloadavg()[0], float(load_before.split(" / ")[0])) > (os.cpu_count() or 1)
    result = {"depth": DEPTH, "max_len": MAX_LEN, "epochs": EPOCHS, "questions_per_step": QUESTIONS_PER_STEP,
              "negatives": NEGATIVES, "lr": LR, "head_lr": HEAD_LR, "train_questions": len(train), "test_questions": len(test),
              "results": results, "ndcg_vs_bi_encoder": intervals, "cross_encoder_vs_maxsim": versus_maxsim,
              "first_stage_recall_at_depth": recall_depth, "ms_per_query": ms, "losses": losses,
              "train_cpu_s": train_cpu_s, "cpu_s": time.process_time() - start_cpu, "busy": busy,
              "machine": machine(), "load_before": load_before, "load_after": load_average()}
    (RESULTS / "retrieval_cross_encoder.json").write_text(json.dumps(result, indent=2) + "\n")

    rows = ["| Retriever | recall@10 | nDCG@10 | nDCG@10 against the bi-encoder (95% paired bootstrap) | "
            "ms per question |", "|---|---:|---:|---|---:|"]
    for name in ("BM25", "BM25, then MaxSim", "BM25, then cross-encoder", "bi-encoder",
                 "bi-encoder, then MaxSim", "bi-encoder, then cross-encoder"):
        r = results[name]
        diff = "" if name == base else "{:+.3f} [{:+.3f}, {:+.3f}]".format(*intervals[name])
        cost = f"{ms[name]:.1f}" if name in ms else ""
        rows.append(f"| {name} | {r['recall@10']:.3f} | {r['nDCG@10']:.3f} | {diff} | {cost} |")
    rows += ["", f"{len(test)} held-out questions (seed 0) against all {len(qa.documents)} answers; each first "
             f"stage proposes {DEPTH} (its recall@{DEPTH}: BM25 {recall_depth['BM25']:.3f}, bi-encoder "
             f"{recall_depth['bi-encoder']:.3f}), which bounds the re-rankers' recall. Cross-encoder minus "
             "MaxSim on the same candidates, nDCG@10: over BM25 {:+.3f} [{:+.3f}, {:+.3f}], ".format(*versus_maxsim["BM25"])
             + "over the bi-encoder {:+.3f} [{:+.3f}, {:+.3f}]. ".format(*versus_maxsim["bi-encoder"])
             + f"The cross-encoder is all-MiniLM-L6-v2 fine-tuned on the other {len(train)} questions only: "
             f"{len(losses)} AdamW steps of {QUESTIONS_PER_STEP} questions x (1 answer + {NEGATIVES} hard negatives), "
             f"learning rate {LR} ({HEAD_LR} for the new head), {EPOCHS} epochs, pairs cut to {MAX_LEN} tokens, {train_cpu_s:.0f} CPU seconds; "
             f"listwise loss {np.mean(losses[:10]):.2f} over the first 10 steps, {np.mean(losses[-10:]):.2f} over "
             f"the last 10 (log 8 = 2.08 is chance). ms per question: one thread, the question's encoding "
             f"included; for a second stage, the first stage's time is added to it"
             + ("; measured on a busy machine, so times are inflated" if busy else "") + ". "
             f"{machine()}; load average {load_before} before, {result['load_after']} after."]
    write_markdown("retrieval_cross_encoder.md", rows)


if __name__ == "__main__":
    main()
