"""Why a naive PyTorch skip-gram with SparseAdam beats word2vec's SGD after 5 epochs on the plays.

The same pairs, windows, sub-sampling and noise as our word2vec; only the update differs:
(a) word2vec's SGD with alpha 0.025 decaying to 1e-4 (our library), (b) autograd through
nn.Embedding(sparse=True) with torch.optim.SparseAdam (lr 0.001, a common default in tutorials).
Reports WordSim-353 and how far rows moved from their initial values for frequent and rare words.
Writes results/embeddings_optimizers.md and .json.
"""

import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.bench_embeddings_word2vec import CONFIG
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.evaluation import load_similarity, similarity_spearman
from snippets.embeddings.text import play_sentences
from snippets.embeddings.word2vec import (Word2Vec, build_vocab, draw_negatives, keep_probability, reduced_windows,
                                          skipgram_pairs)


def train_sparse_adam(sentences, lr: float = 1e-3, seed: int = 0) -> tuple[Word2Vec, torch.Tensor]:
    words, counts = build_vocab(sentences, CONFIG.min_count)
    model = Word2Vec(words, counts, CONFIG, seed)
    init = model.w_in.clone()
    emb_in = torch.nn.Embedding.from_pretrained(model.w_in.clone(), freeze=False, sparse=True)
    emb_out = torch.nn.Embedding.from_pretrained(model.w_out.clone(), freeze=False, sparse=True)
    opt = torch.optim.SparseAdam(list(emb_in.parameters()) + list(emb_out.parameters()), lr=lr)
    rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    ids, sent = model.encode(sentences)
    keep = keep_probability(counts, CONFIG.sample)
    for _ in range(CONFIG.epochs):
        kept = rng.random(len(ids)) < keep[ids]
        c, o = skipgram_pairs(ids[kept], sent[kept], reduced_windows(int(kept.sum()), CONFIG.window, rng), CONFIG.window)
        c, o = torch.from_numpy(c), torch.from_numpy(o)
        for s in range(0, len(c), CONFIG.batch_size):
            cb, ob = c[s:s + CONFIG.batch_size], o[s:s + CONFIG.batch_size]
            neg = draw_negatives(model._table, (len(cb), CONFIG.negative), g)
            v = emb_in(cb)
            loss = -(F.logsigmoid((v * emb_out(ob)).sum(-1)).sum()
                     + F.logsigmoid(-(emb_out(neg) @ v[:, :, None]).squeeze(-1)).sum()) / len(cb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.w_in, model.w_out = emb_in.weight.detach(), emb_out.weight.detach()
    return model, init


def main() -> None:
    torch.set_num_threads(1)
    sentences = play_sentences()
    ws = load_similarity("wordsim353.tsv")
    load_before = load_average()
    out = {}
    start = time.perf_counter()
    sgd = Word2Vec(*build_vocab(sentences, CONFIG.min_count), CONFIG, 0)
    sgd_init = sgd.w_in.clone()
    sgd.fit(sentences, 0)
    out["SGD, alpha 0.025 -> 1e-4 (word2vec, ours)"] = (sgd, sgd_init, time.perf_counter() - start)
    start = time.perf_counter()
    adam, adam_init = train_sparse_adam(sentences)
    out["SparseAdam, lr 0.001 (autograd)"] = (adam, adam_init, time.perf_counter() - start)
    load_after = load_average()
    rows = ["| Update | WordSim-353 ρ | median ‖Δv‖ / ‖v₀‖, 100 most frequent words | same, words seen 5-20 times | Time (s) |",
            "|---|---:|---:|---:|---:|"]
    data = {}
    for name, (m, init, seconds) in out.items():
        rho, covered, total = similarity_spearman(m.w_in.numpy(), m.index, ws)
        moved = (m.w_in - init).norm(dim=1) / init.norm(dim=1)
        rare = (m.counts >= 5) & (m.counts <= 20)
        frequent, rare_moved = float(moved[:100].median()), float(moved[torch.from_numpy(rare)].median())
        rows.append(f"| {name} | {rho:.3f} ({covered}/{total}) | {frequent:.1f} | {rare_moved:.1f} | {seconds:.0f} |")
        data[name] = {"wordsim353": rho, "moved_frequent": frequent, "moved_rare": rare_moved, "seconds": seconds}
    rows += ["", f"Skip-gram, C = {CONFIG.dim}, window {CONFIG.window}, {CONFIG.negative} negatives, "
             f"{CONFIG.epochs} epochs, batch {CONFIG.batch_size}, the same pairs and noise for both. "
             f"{machine()}; load average {load_before} before, {load_after} after."]
    write_markdown("embeddings_optimizers.md", rows)
    (RESULTS / "embeddings_optimizers.json").write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
