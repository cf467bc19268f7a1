"""Retrieval on the chatterbot QA set: BM25, TF-IDF, mean-pooled static word vectors, MiniLM, and RRF.

Each of the 749 unique questions is a query; the 871 unique answers are the collection, and a
question's own answers are its relevant documents. Static word vectors are MiniLM's own input
embedding table (layer 0, before any attention), mean-pooled over a text's WordPiece tokens.
Writes results/retrieval_qa.md and .json.
"""

import json
import time

import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import encode, load_minilm
from snippets.embeddings.tfidf import bag_of_words, build_vocabulary, tfidf
from snippets.embeddings.text import words
from snippets.retrieval.bm25 import BM25
from snippets.retrieval.evaluate import evaluate_runs, runs_from_scores
from snippets.retrieval.exact import similarity
from snippets.retrieval.fusion import reciprocal_rank_fusion
from snippets.retrieval.qa import load_qa


def static_vectors(tokenizer, model, texts: list[str]) -> np.ndarray:
    """Mean of the input-embedding rows of a text's WordPiece tokens ([CLS]/[SEP] left out)."""
    table = model.embeddings.tok.weight.detach().numpy()
    out = []
    for t in texts:
        ids = tokenizer(t, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]
        out.append(table[ids].mean(0))
    return np.array(out)


def main() -> None:
    torch.set_num_threads(1)
    qa = load_qa()
    load_before = load_average()
    q_words, d_words = [words(q) for q in qa.questions], [words(d) for d in qa.documents]
    scores, seconds = {}, {}

    start = time.perf_counter()
    bm25 = BM25(d_words)
    scores["BM25"] = np.array([bm25.scores(q) for q in q_words])
    seconds["BM25"] = time.perf_counter() - start

    start = time.perf_counter()
    vocab = build_vocabulary(d_words + q_words)
    counts = bag_of_words(d_words + q_words, vocab)
    m = tfidf(counts, "sklearn")
    docs_m, q_m = m[:len(d_words)], m[len(d_words):]
    scores["TF-IDF (cosine)"] = q_m @ docs_m.T
    seconds["TF-IDF (cosine)"] = time.perf_counter() - start

    tok, model = load_minilm()
    start = time.perf_counter()
    scores["Mean of static word vectors"] = similarity(static_vectors(tok, model, qa.documents),
                                                       static_vectors(tok, model, qa.questions), "cosine")
    seconds["Mean of static word vectors"] = time.perf_counter() - start

    start = time.perf_counter()
    d_emb, q_emb = encode(tok, model, qa.documents), encode(tok, model, qa.questions)
    scores["MiniLM (all-MiniLM-L6-v2)"] = q_emb @ d_emb.T
    seconds["MiniLM (all-MiniLM-L6-v2)"] = time.perf_counter() - start

    runs = {name: runs_from_scores(s) for name, s in scores.items()}
    fused = []
    for a, b in zip(runs["BM25"], runs["MiniLM (all-MiniLM-L6-v2)"]):
        ranked_a = sorted(a, key=lambda d: -a[d])
        ranked_b = sorted(b, key=lambda d: -b[d])
        fused.append(dict(reciprocal_rank_fusion([ranked_a, ranked_b], k=60)))
    runs["Hybrid: RRF(BM25, MiniLM), k = 60"] = fused
    results = {name: evaluate_runs(r, qa.qrels) for name, r in runs.items()}
    load_after = load_average()

    rows = ["| Retriever | hit@1 | recall@10 | MRR@10 | nDCG@10 |", "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        rows.append(f"| {name} | {r['hit@1']:.3f} | {r['recall@10']:.3f} | {r['MRR@10']:.3f} | {r['nDCG@10']:.3f} |")
    rows += ["", f"{len(qa.questions)} questions, {len(qa.documents)} answers "
             f"({sum(map(len, qa.qrels))} relevant pairs), chatterbot-corpus English. "
             f"{machine()}; load average {load_before} before, {load_after} after."]
    write_markdown("retrieval_qa.md", rows)
    (RESULTS / "retrieval_qa.json").write_text(json.dumps({"results": results, "seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
