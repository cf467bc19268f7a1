"""Matryoshka against plain truncation: recall on held-out questions as MiniLM's vectors are cut short.

The chatterbot QA set (749 questions, 871 answers) is split by question, two thirds to train and
one third held out (`qa.split_questions`, seed 0). MiniLM's sentence vectors are computed once
and frozen. Four ways to get an m-dimensional vector, each scored at m = 16 ... 384 on the
held-out questions against all 871 answers (cosine on the renormalised prefix):
  plain truncation   MiniLM's first m coordinates;
  PCA rotation       MiniLM rotated onto its principal axes (fitted on the training texts), then cut;
  control            a 384 x 384 linear map trained with InfoNCE on the full vector only, then cut;
  Matryoshka         the same map trained with the sum of InfoNCE over the six prefixes, then cut;
  Matryoshka, from the PCA rotation   the same, its map started at the PCA rotation instead of the identity.
The control is trained on the same pairs for the same steps, so Matryoshka minus control is what
the nested loss adds beyond "trained on this data". Per-question nDCG@10 differences get paired
bootstrap intervals. Writes results/retrieval_matryoshka.json and .md.
"""

import json
import time

import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import encode, load_minilm
from snippets.embeddings.evaluation import paired_bootstrap_accuracy
from snippets.embeddings.matryoshka import train_projection
from snippets.retrieval.evaluate import runs_from_scores
from snippets.retrieval.metrics import ndcg_at, recall_at
from snippets.retrieval.qa import load_qa, split_questions

DIMS = (16, 32, 64, 128, 256, 384)
STEPS, BATCH, LR = 400, 128, 1e-3


def per_question(q: np.ndarray, d: np.ndarray, qrels: list[dict[str, int]], m: int) -> dict[str, np.ndarray]:
    """recall@10 and nDCG@10 of each question, scoring by cosine on the first m coordinates."""
    unit = lambda x: x[:, :m] / np.linalg.norm(x[:, :m], axis=1, keepdims=True)  # noqa: E731
    runs = runs_from_scores(unit(q) @ unit(d).T, depth=10)
    return {"recall@10": np.array([recall_at(r, g, 10) for r, g in zip(runs, qrels)]),
            "nDCG@10": np.array([ndcg_at(r, g, 10) for r, g in zip(runs, qrels)])}


def variance_share(x: np.ndarray) -> list[float]:
    """Share of the total variance (of centred vectors) held by the first m coordinates, per m in DIMS."""
    var = x.var(axis=0)
    return [float(var[:m].sum() / var.sum()) for m in DIMS]


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    start_cpu = time.process_time()
    qa = load_qa()
    tok, model = load_minilm()
    q_all = encode(tok, model, qa.questions).astype(np.float64)            # (749, 384)
    d_all = encode(tok, model, qa.documents).astype(np.float64)            # (871, 384)
    train, test = split_questions(len(qa.questions))
    pairs = [(i, int(a)) for i in train for a in qa.qrels[i]]               # every (question, answer) pair
    q_train = torch.tensor(q_all[[i for i, _ in pairs]])
    d_train = torch.tensor(d_all[[a for _, a in pairs]])

    fit = np.vstack([q_all[train], d_all[sorted({a for _, a in pairs})]])
    _, _, vt = np.linalg.svd(fit - fit.mean(0), full_matrices=False)      # rows: principal axes, largest first
    start = time.process_time()
    control = train_projection(q_train, d_train, [DIMS[-1]], STEPS, BATCH, LR, seed=0)
    nested = train_projection(q_train, d_train, DIMS, STEPS, BATCH, LR, seed=0)
    nested_pca = train_projection(q_train, d_train, DIMS, STEPS, BATCH, LR, seed=0, start=torch.tensor(vt))
    train_cpu_s = time.process_time() - start
    with torch.no_grad():
        mapped = {"plain truncation": lambda x: x, "PCA rotation": lambda x: x @ vt.T,
                  "control (full-dimension loss)": lambda x: control(torch.tensor(x)).numpy(),
                  "Matryoshka": lambda x: nested(torch.tensor(x)).numpy(),
                  "Matryoshka, from the PCA rotation": lambda x: nested_pca(torch.tensor(x)).numpy()}
        vectors = {name: (f(q_all[test]), f(d_all)) for name, f in mapped.items()}

    qrels = [qa.qrels[i] for i in test]
    scores = {name: {m: per_question(q, d, qrels, m) for m in DIMS} for name, (q, d) in vectors.items()}
    means = {name: {str(m): {k: float(v.mean()) for k, v in s[m].items()} for m in DIMS}
             for name, s in scores.items()}
    ndcg = lambda name, m: scores[name][m]["nDCG@10"]  # noqa: E731
    compared = (("Matryoshka", "plain truncation"), ("Matryoshka", "control (full-dimension loss)"),
                ("PCA rotation", "plain truncation"), ("Matryoshka, from the PCA rotation", "PCA rotation"))
    intervals = {f"{a} - {b}": {str(m): paired_bootstrap_accuracy(ndcg(a, m), ndcg(b, m)) for m in DIMS}
                 for a, b in compared}
    shares = {name: variance_share(d - d.mean(0)) for name, (_, d) in vectors.items()}
    result = {"dims": list(DIMS), "train_questions": len(train), "test_questions": len(test),
              "train_pairs": len(pairs), "steps": STEPS, "batch": BATCH, "lr": LR, "results": means,
              "ndcg_intervals": intervals, "variance_share": shares, "train_cpu_s": train_cpu_s,
              "cpu_s": time.process_time() - start_cpu, "machine": machine(), "load_before": load_before,
              "load_after": load_average()}
    (RESULTS / "retrieval_matryoshka.json").write_text(json.dumps(result, indent=2) + "\n")

    head = " | ".join(f"{m}" for m in DIMS)
    rows = [f"| Vectors cut to m dimensions, recall@10 | {head} |", "|---|" + "---:|" * len(DIMS)]
    for name in vectors:
        rows.append(f"| {name} | " + " | ".join(f"{means[name][str(m)]['recall@10']:.3f}" for m in DIMS) + " |")
    rows += ["", f"| nDCG@10 difference (95% paired bootstrap) | {head} |", "|---|" + "---:|" * len(DIMS)]
    for name, by_m in intervals.items():
        rows.append(f"| {name} | " + " | ".join("{:+.3f} [{:+.3f}, {:+.3f}]".format(*by_m[str(m)]) for m in DIMS) + " |")
    rows += ["", f"| Share of the answers' variance in the first m coordinates | {head} |",
             "|---|" + "---:|" * len(DIMS)]
    for name, share in shares.items():
        rows.append(f"| {name} | " + " | ".join(f"{s:.2f}" for s in share) + " |")
    rows += ["", f"{len(test)} held-out questions (seed 0) against all {len(qa.documents)} answers; the maps were "
             f"trained on the {len(pairs)} (question, answer) pairs of the other {len(train)} questions: "
             f"{STEPS} Adam steps of {BATCH} pairs, learning rate {LR}, temperature 0.05, float64, "
             f"{train_cpu_s:.0f} CPU seconds for the three maps. all-MiniLM-L6-v2's vectors, frozen. "
             f"{machine()}; load average {load_before} before, {result['load_after']} after."]
    write_markdown("retrieval_matryoshka.md", rows)


if __name__ == "__main__":
    main()
