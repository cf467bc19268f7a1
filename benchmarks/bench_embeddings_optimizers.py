"""Why a naive PyTorch skip-gram with SparseAdam beats word2vec's SGD after 5 epochs on the plays.

The same pairs, windows, sub-sampling and noise as our word2vec; only the update differs:
(a) word2vec's SGD with alpha 0.025 decaying to 1e-4 (our library), (b) autograd through
nn.Embedding(sparse=True) with torch.optim.SparseAdam (lr 0.001, a common default in tutorials).
Reports WordSim-353 (with its covered pairs: the standard error of a Spearman rho on n pairs is
about 1 / sqrt(n - 1)) and how far rows moved from their initial values for frequent and rare words.
All 38 plays (the word2vec benchmark's corpus), 5 epochs, the word2vec benchmark's hyperparameters.
EMBEDDINGS_OPTIMIZERS_PART=sgd or =adam trains one update and keeps the other's row from the json
(each fits in one command of a few minutes on an idle core); with no setting both run.
Writes results/embeddings_optimizers.md and .json.
"""

import json
import os
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


SGD, ADAM = "SGD, alpha 0.025 -> 1e-4 (word2vec, ours)", "SparseAdam, lr 0.001 (autograd)"
PLAYS: int | None = None   # all 38 plays


def measure(model: Word2Vec, init: torch.Tensor, seconds: float, load_before: str) -> dict:
    rho, covered, total = similarity_spearman(model.w_in.numpy(), model.index, load_similarity("wordsim353.tsv"))
    moved = (model.w_in - init).norm(dim=1) / init.norm(dim=1)
    rare = (model.counts >= 5) & (model.counts <= 20)
    return {"wordsim353": rho, "covered": covered, "total": total, "moved_frequent": float(moved[:100].median()),
            "moved_rare": float(moved[torch.from_numpy(rare)].median()), "seconds": seconds,
            "load_before": load_before, "load_after": load_average()}


def main() -> None:
    torch.set_num_threads(1)
    part = os.environ.get("EMBEDDINGS_OPTIMIZERS_PART", "")
    if part not in ("", "sgd", "adam"):
        raise ValueError(f"EMBEDDINGS_OPTIMIZERS_PART={part!r}; use 'sgd', 'adam' or leave it unset")
    path = RESULTS / "embeddings_optimizers.json"
    data = json.loads(path.read_text()) if part and path.exists() else {}
    sentences = play_sentences(max_plays=PLAYS)
    n_words = sum(map(len, sentences))
    if any(r.get("words") != n_words for r in data.values()):
        data = {}   # the other row was measured on another corpus: start again
    if part in ("", "sgd"):
        load_before, start = load_average(), time.perf_counter()
        sgd = Word2Vec(*build_vocab(sentences, CONFIG.min_count), CONFIG, 0)
        sgd_init = sgd.w_in.clone()
        sgd.fit(sentences, 0)
        data[SGD] = measure(sgd, sgd_init, time.perf_counter() - start, load_before) | {"words": n_words}
    if part in ("", "adam"):
        load_before, start = load_average(), time.perf_counter()
        adam, adam_init = train_sparse_adam(sentences)
        data[ADAM] = measure(adam, adam_init, time.perf_counter() - start, load_before) | {"words": n_words}
    rows = ["| Update | WordSim-353 ρ | median ‖Δv‖ / ‖v₀‖, 100 most frequent words | same, words seen 5-20 times | Time (s) |",
            "|---|---:|---:|---:|---:|"]
    for name in (SGD, ADAM):
        if name in data:
            r = data[name]
            rows.append(f"| {name} | {r['wordsim353']:.3f} ({r['covered']}/{r['total']}) | {r['moved_frequent']:.2f} | "
                        f"{r['moved_rare']:.2f} | {r['seconds']:.0f} |")
        else:
            rows.append(f"| {name} | not run yet | | | |")
    corpus = f"The first {PLAYS} plays" if PLAYS else "All 38 plays"
    rows += ["", f"{corpus} ({n_words:,} words); skip-gram, C = {CONFIG.dim}, window "
             f"{CONFIG.window}, {CONFIG.negative} negatives, {CONFIG.epochs} epochs, batch {CONFIG.batch_size}, "
             f"the same pairs and noise for both; one thread. {machine()}; load average "
             + "; ".join(f"{r['load_before']} before and {r['load_after']} after {name.split(',')[0]}"
                         for name, r in data.items())
             + (" (above the 2 cores: times inflated)." if max(float(r[k].split(" / ")[0]) for r in data.values()
                                                           for k in ("load_before", "load_after")) > 2 else ".")]
    write_markdown("embeddings_optimizers.md", rows)
    path.write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
