"""Bi-encoder against cross-encoder (Reimers & Gurevych, 2019, arXiv:1908.10084): the time to
find the most similar pair among N sentences with the real all-MiniLM-L6-v2 as a bi-encoder
(N passes, then one N x N matrix product), against a cross-encoder of the same size, which needs
one pass per pair: its time per pair is measured on batches of pairs and multiplied by N(N-1)/2.

Interleaved repeats (bi, cross, bi, cross, ...); medians reported. Writes results/bert_cost.md/json.
"""

import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert_weights import load_minilm, sentence_embeddings
from snippets.models.sentence_pairs import collate_pairs, pack_pair
from snippets.training.plays import load_plays

N_SENTENCES = 1000
N_PAIRS = 256          # cross-encoder pairs timed per repeat
REPEATS = 3


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    model, tok = load_minilm()
    lines = [line for line in load_plays()["hamlet"][1] if len(line.split()) >= 6][:N_SENTENCES]
    pairs = [(lines[i], lines[(7 * i + 1) % len(lines)]) for i in range(N_PAIRS)]
    cls, sep, pad = (tok.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    packed = [pack_pair(tok.encode(a), tok.encode(b), cls, sep, 128) for a, b in pairs]
    bi_times, cross_times, best = [], [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        emb = sentence_embeddings(model, tok, lines, batch_size=64)        # (N, C)
        sim = emb @ emb.T
        sim.fill_diagonal_(-2.0)
        best = divmod(int(sim.argmax()), len(lines))
        bi_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            for s in range(0, N_PAIRS, 64):
                ids, seg, mask = collate_pairs(packed[s: s + 64], pad)
                model(ids, seg, mask)                                      # one pass per pair
        cross_times.append((time.perf_counter() - start) / N_PAIRS)
    load_after = load_average()
    n = len(lines)
    all_pairs = n * (n - 1) // 2
    bi, per_pair = statistics.median(bi_times), statistics.median(cross_times)
    tenk_pairs = 10_000 * 9_999 // 2
    tenk_bi = bi * 10_000 / n
    result = {"n": n, "bi_encoder_seconds": bi, "cross_seconds_per_pair": per_pair,
              "cross_encoder_seconds_extrapolated": per_pair * all_pairs,
              "most_similar_pair": [lines[best[0]], lines[best[1]]],
              "n10k_bi_seconds": tenk_bi, "n10k_cross_hours": per_pair * tenk_pairs / 3600,
              "load_before": load_before, "load_after": load_after, "machine": machine()}
    (RESULTS / "bert_cost.json").write_text(json.dumps(result, indent=1))
    busy = float(load_before.split(" / ")[0]) > 2 or float(load_after.split(" / ")[0]) > 2
    write_markdown("bert_cost.md", [
        "| Sentences | Bi-encoder: N passes + N×N similarities | Cross-encoder: N(N−1)/2 passes (extrapolated) | Ratio |",
        "|---:|---:|---:|---:|",
        f"| {n:,} | {bi:.1f} s (measured) | {per_pair * all_pairs / 3600:.1f} h ({all_pairs:,} pairs × {1000 * per_pair:.1f} ms) | {per_pair * all_pairs / bi:,.0f}× |",
        f"| 10,000 | {tenk_bi:.0f} s (scaled linearly) | {per_pair * tenk_pairs / 3600:,.0f} h ({tenk_pairs:,} pairs) | {per_pair * tenk_pairs / tenk_bi:,.0f}× |",
        "",
        f"The real all-MiniLM-L6-v2 in our BertModel, on CPU with one thread, batches of 64; the cross-encoder "
        f"is the same network reading `[CLS] A [SEP] B [SEP]` (its time per pair measured on {N_PAIRS} pairs of "
        f"Hamlet's lines). Medians of {REPEATS} interleaved repeats. Most similar pair found: "
        f"\"{lines[best[0]]}\" / \"{lines[best[1]]}\". {machine()}; load average {load_before} before, "
        f"{load_after} after" + (" — above the 2 cores: the machine was shared and both times are inflated "
                                 "by about the same factor; the ratio is what carries over." if busy else "."),
    ])


if __name__ == "__main__":
    main()
