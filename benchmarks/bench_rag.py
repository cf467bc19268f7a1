"""Chunking and retrieval-augmented QA end to end on the chatterbot corpus, with an extractive reader.

Documents: each topic file's answers packed into documents of at most 300 words
(qa.topic_documents). Queries: the questions with at least one answer of 3 or more normalised
tokens (shorter answers such as "Yes." occur all over the corpus). A chunk is relevant to a question
when it contains one of its answers (rag_eval.contains: DPR's "has the answer" test). Chunkers:
fixed windows, whole sentences, and windows overlapping by a quarter, at 32 to 256 words.
Retrievers: BM25 over the chunks' words, MiniLM (unit vectors, 256 tokens as the model card), and
RRF of the two. The reader (reader.read_best_sentence) answers with the sentence of the top K
chunks closest to the question. Comparisons on the same questions get a paired bootstrap interval
(embeddings.evaluation.paired_bootstrap_accuracy on per-question values). The distraction
experiment gives the reader the gold chunk plus n chunks that do not contain the answer: random
ones, or the retriever's best-scored ones, with the gold chunk first, in the middle or last.
Writes results/rag.json and results/rag_chunking.md, rag_retrievers.md, rag_distraction.md.
"""

import json
import time

import numpy as np
import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.encoder import hidden_states, load_minilm
from snippets.embeddings.evaluation import paired_bootstrap_accuracy
from snippets.embeddings.sentence import mean_pool
from snippets.embeddings.text import words
from snippets.retrieval.bm25 import BM25
from snippets.retrieval.chunking import fixed_chunks, sentence_chunks
from snippets.retrieval.fusion import reciprocal_rank_fusion
from snippets.retrieval.metrics import ndcg_at
from snippets.retrieval.qa import load_qa, topic_documents
from snippets.retrieval.rag_eval import best_over_golds, contains, exact_match, normalize_answer, token_f1
from snippets.retrieval.reader import read_best_sentence

DOCUMENT_WORDS = 300
MIN_ANSWER_TOKENS = 3
SIZES = (32, 64, 128, 256)
K = 3                               # chunks the reader sees
BUDGET = 192                        # or: the best chunks, cut to this many words in all
MAIN = ("sentence", 64)             # the configuration of the retriever and distraction tables
DISTRACTORS = (0, 1, 2, 4, 9)
CHUNKERS = {"fixed": lambda text, size: fixed_chunks(text, size),
            "sentence": lambda text, size: sentence_chunks(text, size),
            "overlap 1/4": lambda text, size: fixed_chunks(text, size, size // 4)}


class Encoder:
    """MiniLM sentence vectors (mean-pooled, unit length, up to 256 tokens), each text encoded once."""

    def __init__(self) -> None:
        self.tok, self.model = load_minilm()
        self.cache: dict[str, np.ndarray] = {}
        self.truncated = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        new = sorted({t for t in texts if t not in self.cache}, key=len)  # similar lengths batch together
        for s in range(0, len(new), 32):
            batch = new[s:s + 32]
            self.truncated += sum(len(self.tok.encode(t)) > 254 for t in batch)
            states, masks = hidden_states(self.tok, self.model, batch, batch_size=32, max_length=256)
            v = torch.nn.functional.normalize(mean_pool(states[0][-1], masks[0]), dim=-1).numpy()
            self.cache.update(zip(batch, v))
        return np.stack([self.cache[t] for t in texts])


def ranked_ids(scores: np.ndarray, depth: int = 100) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :depth]


def per_question(ranks: np.ndarray, relevant: list[set[int]]) -> dict[str, np.ndarray]:
    """hit@1, hit@K and nDCG@10 per question; a question no chunk answers scores 0."""
    hit1 = np.array([float(bool(rel & {int(r[0])})) for r, rel in zip(ranks, relevant)])
    hitk = np.array([float(bool(rel & set(map(int, r[:K])))) for r, rel in zip(ranks, relevant)])
    ndcg = np.array([ndcg_at({str(d): -i for i, d in enumerate(r[:10])}, {str(d): 1 for d in rel}, 10)
                     if rel else 0.0 for r, rel in zip(ranks, relevant)])
    return {"hit@1": hit1, f"hit@{K}": hitk, "nDCG@10": ndcg}


def answer(encoder: Encoder, q_vecs: np.ndarray, contexts: list[list[str]], golds: list[list[str]]) -> dict:
    """The reader on each question's passages: EM, F1 and whether the prediction is in its context."""
    em, f1, supported = [], [], []
    for q, passages, gs in zip(q_vecs, contexts, golds):
        prediction = read_best_sentence(q, passages, encoder)
        em.append(best_over_golds(exact_match, prediction, gs))
        f1.append(best_over_golds(token_f1, prediction, gs))
        # a sentence of punctuation only (":)") normalises to nothing: it supports nothing
        supported.append(float(bool(normalize_answer(prediction)) and contains(" ".join(passages), prediction)))
    return {"EM": np.array(em), "F1": np.array(f1), "supported": np.array(supported)}


def within_budget(ranked_chunks: list[str], budget: int) -> list[str]:
    """The best chunks in order until `budget` words; the last one cut at the budget."""
    out, left = [], budget
    for c in ranked_chunks:
        if left <= 0:
            break
        out.append(" ".join(c.split()[:left]))
        left -= len(c.split())
    return out


def interval(a: np.ndarray, b: np.ndarray) -> list[float]:
    return list(paired_bootstrap_accuracy(a, b))


def main() -> None:
    torch.set_num_threads(1)
    cpu0, wall0, load_before = time.process_time(), time.perf_counter(), load_average()
    qa, documents = load_qa(), topic_documents(DOCUMENT_WORDS)
    golds = [[g for g in (qa.documents[int(d)] for d in rel) if len(normalize_answer(g).split()) >= MIN_ANSWER_TOKENS]
             for rel in qa.qrels]
    keep = [i for i, g in enumerate(golds) if g]
    questions, golds = [qa.questions[i] for i in keep], [golds[i] for i in keep]
    encoder = Encoder()
    q_vecs = encoder(questions)
    q_words = [words(q) for q in questions]
    normalized_golds = [[normalize_answer(g) for g in gs] for gs in golds]

    configs, per, examples = {}, {}, {}
    for name, chunker in CHUNKERS.items():
        for size in SIZES:
            chunks = [c for d in documents for c in chunker(d, size)]
            norm = [f" {normalize_answer(c)} " for c in chunks]
            relevant = [{j for j, c in enumerate(norm) if any(f" {g} " in c for g in gs)} for gs in normalized_golds]
            dense = q_vecs @ encoder(chunks).T                                       # (Q, N)
            bm25 = BM25([words(c) for c in chunks])
            lexical = np.array([bm25.scores(q) for q in q_words])                  # (Q, N)
            rankings = {"BM25": ranked_ids(lexical), "MiniLM": ranked_ids(dense)}
            rankings["RRF(BM25, MiniLM)"] = np.array(
                [[d for d, _ in reciprocal_rank_fusion([list(a), list(b)])][:100]
                 for a, b in zip(rankings["BM25"], rankings["MiniLM"])])
            for retriever, ranks in rankings.items():
                if retriever != "MiniLM" and (name, size) != MAIN:
                    continue
                scores = per_question(ranks, relevant)
                contexts = [[chunks[int(j)] for j in r[:K]] for r in ranks]
                scores.update(answer(encoder, q_vecs, contexts, golds))
                budgeted = [within_budget([chunks[int(j)] for j in r[:20]], BUDGET) for r in ranks]
                scores["hit, budget"] = np.array([float(any(contains(" ".join(c), g) for g in gs))
                                                  for c, gs in zip(budgeted, golds)])
                scores["EM, budget"] = answer(encoder, q_vecs, budgeted, golds)["EM"]
                scores["EM | hit"] = scores["EM"][scores[f"hit@{K}"] == 1]   # a copying reader: EM <= hit
                per[(name, size, retriever)] = scores
            configs[(name, size)] = {
                "chunks": len(chunks), "mean_words": float(np.mean([len(c.split()) for c in chunks])),
                "answers_cut": float(np.mean([not rel for rel in relevant])),
                "words_seen": float(np.mean([sum(len(chunks[int(j)].split()) for j in r[:K])
                                             for r in rankings["MiniLM"]]))}
            if (name, size) == MAIN:
                main_chunks, main_relevant, main_dense = chunks, relevant, dense
            if size == 64:
                i = questions.index("What is AI?")
                examples[name] = {"question": questions[i], "golds": golds[i],
                                  "top_chunk": chunks[int(rankings["MiniLM"][i][0])],
                                  "answer": read_best_sentence(q_vecs[i], [chunks[int(j)] for j in rankings["MiniLM"][i][:K]], encoder)}

    # Distraction: the gold chunk among n chunks that do not contain the answer.
    rng = np.random.default_rng(0)
    answerable = [i for i, rel in enumerate(main_relevant) if rel]
    distraction = {}
    for i in answerable:
        rel = main_relevant[i]
        gold = max(rel, key=lambda j: main_dense[i, j])              # the retriever's best gold chunk
        others = [j for j in np.argsort(-main_dense[i], kind="stable") if j not in rel]
        pools = {"hard": others, "random": list(rng.permutation(others))}
        for kind, pool in pools.items():
            for n in DISTRACTORS:
                picked = [main_chunks[j] for j in pool[:n]]
                places = {"first": 0, "middle": n // 2, "last": n} if n else {"first": 0}
                for where, at in places.items():
                    passages = picked[:at] + [main_chunks[gold]] + picked[at:]
                    distraction.setdefault((kind, n, where), []).append(passages)
    dist_scores = {key: answer(encoder, q_vecs[answerable], ctx, [golds[i] for i in answerable])
                   for key, ctx in distraction.items()}

    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    means = {"|".join(map(str, key)): {m: float(v.mean()) for m, v in s.items()} for key, s in per.items()}
    dmeans = {"|".join(map(str, key)): {m: float(v.mean()) for m, v in s.items()} for key, s in dist_scores.items()}
    d = lambda name, size, r="MiniLM": per[(name, size, r)]  # noqa: E731
    comparisons = {}
    for size in SIZES:
        for metric in (f"hit@{K}", "EM", "EM, budget"):
            comparisons[f"sentence - fixed, {size} words, {metric}"] = interval(d("sentence", size)[metric], d("fixed", size)[metric])
            comparisons[f"overlap 1/4 - fixed, {size} words, {metric}"] = interval(d("overlap 1/4", size)[metric], d("fixed", size)[metric])
    for size in SIZES:
        if size != MAIN[1]:
            comparisons[f"sentence, {size} - {MAIN[1]} words, EM, budget"] = interval(
                d("sentence", size)["EM, budget"], d(*MAIN)["EM, budget"])
    for metric in (f"hit@{K}", "EM"):
        comparisons[f"MiniLM - BM25, {metric}"] = interval(d(*MAIN)[metric], d(*MAIN, "BM25")[metric])
        comparisons[f"RRF - MiniLM, {metric}"] = interval(d(*MAIN, "RRF(BM25, MiniLM)")[metric], d(*MAIN)[metric])
    em = lambda key: dist_scores[key]["EM"]  # noqa: E731
    comparisons["hard - random distractors, 4 added, EM"] = interval(em(("hard", 4, "first")), em(("random", 4, "first")))
    comparisons["4 hard distractors - none, EM"] = interval(em(("hard", 4, "first")), em(("hard", 0, "first")))
    comparisons["4 random distractors - none, EM"] = interval(em(("random", 4, "first")), em(("hard", 0, "first")))
    comparisons["gold in the middle - first, 9 hard, EM"] = interval(em(("hard", 9, "middle")), em(("hard", 9, "first")))

    result = {"setup": {"questions": len(questions), "of": len(qa.questions), "min_answer_tokens": MIN_ANSWER_TOKENS,
                        "documents": len(documents), "document_words": DOCUMENT_WORDS,
                        "words": sum(len(x.split()) for x in documents), "sizes": list(SIZES), "k": K,
                        "budget": BUDGET, "main": list(MAIN), "distractors": list(DISTRACTORS),
                        "answerable": len(answerable), "main_chunks": len(main_chunks),
                        "chunks_truncated": encoder.truncated},
              "configs": {f"{n}|{s}": c for (n, s), c in configs.items()}, "means": means,
              "distraction": dmeans, "comparisons": comparisons, "examples": examples,
              "cpu_s": cpu_s, "wall_s": wall_s, "machine": machine(),
              "load_before": load_before, "load_after": load_average()}
    (RESULTS / "rag.json").write_text(json.dumps(result, indent=1) + "\n")
    write_tables(result)


def write_tables(result: dict) -> None:
    """The four Markdown tables the page includes, from the stored result alone."""
    u, means, k, budget = result["setup"], result["means"], result["setup"]["k"], result["setup"]["budget"]
    setup = (f"{u['questions']} questions (of {u['of']}; those with an answer of at least "
             f"{u['min_answer_tokens']} normalised tokens), {u['documents']} documents of at most "
             f"{u['document_words']} words ({u['words']} words in all), chatterbot-corpus English.")
    footer = (f"{result['machine']}; load average {result['load_before']} before, {result['load_after']} after; "
              f"the whole benchmark took {result['cpu_s']:.0f} CPU seconds ({result['wall_s']:.0f} s wall).")
    rows = [f"| Chunker | chunks | answers cut | hit@1 | hit@{k} | nDCG@10 | words in top {k} | EM, top {k} | "
            f"F1, top {k} | hit, {budget} words | EM, {budget} words |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, c in result["configs"].items():
        name, size = key.split("|")
        m = means[f"{key}|MiniLM"]
        rows.append(f"| {name}, {size} words | {c['chunks']} | {c['answers_cut']:.1%} | {m['hit@1']:.3f} | "
                    f"{m[f'hit@{k}']:.3f} | {m['nDCG@10']:.3f} | {c['words_seen']:.0f} | {m['EM']:.3f} | "
                    f"{m['F1']:.3f} | {m['hit, budget']:.3f} | {m['EM, budget']:.3f} |")
    rows += ["", f"MiniLM retrieval. The reader sees the top {k} chunks, or the best chunks cut to "
             f"{budget} words in all. " + setup, "", footer]
    write_markdown("rag_chunking.md", rows)

    main = "|".join(map(str, u["main"]))
    rows = [f"| Retriever | hit@1 | hit@{k} | nDCG@10 | EM | F1 | EM when an answer was retrieved | supported |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for retriever in ("BM25", "MiniLM", "RRF(BM25, MiniLM)"):
        m = means[f"{main}|{retriever}"]
        rows.append(f"| {retriever} | {m['hit@1']:.3f} | {m[f'hit@{k}']:.3f} | {m['nDCG@10']:.3f} | {m['EM']:.3f} | "
                    f"{m['F1']:.3f} | {m['EM | hit']:.3f} | {m['supported']:.3f} |")
    rows += ["", f"{u['main'][0]} chunks of at most {u['main'][1]} words; top {k} to the reader. " + setup, "", footer]
    write_markdown("rag_retrievers.md", rows)

    rows = ["| Distractors added | gold first: EM | gold in the middle: EM | gold last: EM |",
            "|---|---:|---:|---:|"]
    for kind in ("random", "hard"):
        for n in u["distractors"]:
            cells = [f"{result['distraction'][f'{kind}|{n}|{w}']['EM']:.3f}"
                     if f"{kind}|{n}|{w}" in result["distraction"] else "" for w in ("first", "middle", "last")]
            rows.append(f"| {kind}, {n} | " + " | ".join(cells) + " |")
    rows += ["", f"{u['answerable']} questions whose answer lies in one of the {u['main_chunks']} "
             f"{u['main'][0]} chunks of at most {u['main'][1]} words; the reader gets that chunk plus n that do "
             "not contain the answer: random ones, or those MiniLM scores highest (hard).", "", footer]
    write_markdown("rag_distraction.md", rows)

    rows = ["| Comparison (same questions) | difference | 95% paired bootstrap |", "|---|---:|---|"]
    rows += [f"| {name} | {v[0]:+.3f} | [{v[1]:+.3f}, {v[2]:+.3f}] |" for name, v in result["comparisons"].items()]
    write_markdown("rag_intervals.md", rows + ["", footer])


if __name__ == "__main__":
    main()
