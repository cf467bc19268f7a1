"""Anisotropy by layer of the real MiniLM and of an MLM-only encoder, before and after the fixes,
and what the fixes do to the Lee document-similarity test.

Two encoders, the same text: all-MiniLM-L6-v2 (distilled from a larger BERT, then trained contrastively) and the
BERT chapter's mini-BERT (2 layers, width 128), pre-trained with masked language modelling only on
the plays. The mini-BERT is read from the checkpoint `python -m benchmarks bert_mlm` saves in the
cache directory; when none is there (or an older one without its config), this benchmark trains
one itself with the same code (bert_common.train_mlm) for FALLBACK_S seconds, keeps it to itself
(the cache file belongs to bench_bert_mlm) and says so in the results.

Token states of 400 lines of the plays at every layer (0 = input embeddings): mean cosine between
random tokens from different positions (Ethayarajh 2019). The fixes are fitted on the same states.
Then the Lee et al. (2005) test: Spearman between the cosine of mean-pooled document vectors and
the 50 x 50 human similarity (1,225 pairs), for raw, centred and whitened vectors of each layer.
The mini-BERT reads at most 64 pieces (its position table), so its Lee documents are truncated.
Writes results/embeddings_anisotropy.md and .json (the page's figure reads the json).
"""

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import torch
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from benchmarks.bert_common import (CHECKPOINT, HELD_OUT, cache_dir, load_mini_bert, load_play_data, mini_config,
                                    sequences, train_mlm)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.anisotropy import all_but_the_top, centre, mean_cosine, whitening
from snippets.embeddings.encoder import hidden_states, load_minilm
from snippets.embeddings.sentence import mean_pool
from snippets.embeddings.text import lee_documents, lee_similarities, play_sentences
from snippets.models.bert import BertForMaskedLM

FALLBACK_S = 100.0   # training budget when no mini-BERT checkpoint exists


def mlm_only_encoder() -> tuple[object, torch.nn.Module, str]:
    """(tokenizer, BertModel, how it was obtained) for the MLM-only mini-BERT."""
    try:
        model, tokenizer = load_mini_bert()
        path = cache_dir() / CHECKPOINT
        # which checkpoint: the chapter-4 benchmark may rewrite it, so name the file read
        stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return tokenizer, model.bert.eval(), (f"the checkpoint that `python -m benchmarks bert_mlm` saved: {CHECKPOINT}, "
                                              f"written {stamp}, sha256 {digest}…")
    except (FileNotFoundError, ValueError):
        data = load_play_data()
        train = sequences(data, [n for n in data.play_ids if n not in HELD_OUT])
        test = sequences(data, list(HELD_OUT))
        torch.manual_seed(0)
        model = BertForMaskedLM(mini_config(len(data.tokenizer.itos)))
        run = train_mlm(model, train, test, data, seconds=FALLBACK_S, lr=2e-3, warmup=200, batch=64)
        return data.tokenizer, model.bert.eval(), (f"trained here for {FALLBACK_S:.0f} s, {run['steps']} steps at "
                                                   "peak lr 2e-3 after 200 warm-up steps, batch 64: no current "
                                                   "checkpoint was in the cache")


def measure(tok, model, lines: list[str], docs: list[str], max_length: int, abtt: int) -> tuple[list, list]:
    states, masks = hidden_states(tok, model, lines, batch_size=50, max_length=min(max_length, 128))
    n_layers = states[0].shape[0]
    per_layer = []
    for layer in range(n_layers):
        tokens = np.concatenate([h[layer][m.bool()].numpy() for h, m in zip(states, masks)]).astype(np.float64)
        w, mu = whitening(tokens)
        per_layer.append({"layer": layer, "raw": mean_cosine(tokens), "centred": mean_cosine(centre(tokens)),
                          "all_but_the_top": mean_cosine(all_but_the_top(tokens, abtt)),
                          "whitened": mean_cosine((tokens - mu) @ w)})
    human = lee_similarities()[np.triu_indices(50, 1)]
    d_states, d_masks = hidden_states(tok, model, docs, batch_size=25, max_length=max_length)
    lee = []
    for layer in range(n_layers):
        v = torch.cat([mean_pool(h[layer], m) for h, m in zip(d_states, d_masks)]).numpy().astype(np.float64)
        def rho(x):
            u = x / np.linalg.norm(x, axis=1, keepdims=True)
            return float(spearmanr((u @ u.T)[np.triu_indices(50, 1)], human).statistic)
        w, mu = whitening(v, dim=32)   # 50 documents: keep at most 32 directions
        lee.append({"layer": layer, "raw": rho(v), "centred": rho(centre(v)), "whitened": rho((v - mu) @ w)})
    return per_layer, lee


def main() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)
    load_before = load_average()
    rng = np.random.default_rng(0)
    lines = [" ".join(s) for s in play_sentences()]
    lines = [lines[i] for i in rng.choice(len(lines), 400, replace=False)]
    docs = lee_documents()
    mini_tok, mini, source = mlm_only_encoder()
    minilm_tok, minilm = load_minilm()
    encoders = {"MiniLM": (minilm_tok, minilm, 256), "mini-BERT, MLM only": (mini_tok, mini, mini.config.max_positions)}
    results = {}
    for name, (tok, model, max_length) in encoders.items():
        tokens, lee = measure(tok, model, lines, docs, max_length, abtt=3)
        results[name] = {"tokens": tokens, "lee": lee, "width": model.config.d_model,
                         "layers": model.config.n_layers, "max_length": max_length}
    load_after = load_average()
    rows = ["| Encoder, layer | mean cosine: raw | centred | all-but-the-top (3) | whitened | Lee ρ: raw | centred | "
            "whitened (32) |", "|:---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        for a, b in zip(r["tokens"], r["lee"]):
            rows.append(f"| {name}, {a['layer']} | {a['raw']:.3f} | {a['centred']:.3f} | {a['all_but_the_top']:.3f} | "
                        f"{a['whitened']:.3f} | {b['raw']:.3f} | {b['centred']:.3f} | {b['whitened']:.3f} |")
    rows += ["", f"MiniLM: all-MiniLM-L6-v2 (6 layers, width 384), Lee documents cut at 256 pieces. Mini-BERT: "
             f"{results['mini-BERT, MLM only']['layers']} layers, width {results['mini-BERT, MLM only']['width']}, "
             f"pre-trained with MLM only on the plays ({source}); Lee documents cut at "
             f"{results['mini-BERT, MLM only']['max_length']} pieces. Token states of the same 400 random lines of "
             f"the plays for both (layer 0 = the input embeddings); Lee: 50 documents, 1,225 pairs, mean-pooled. "
             f"{machine()}; load average {load_before} before, {load_after} after."]
    write_markdown("embeddings_anisotropy.md", rows)
    (RESULTS / "embeddings_anisotropy.json").write_text(json.dumps(
        {name: {"tokens": r["tokens"], "lee": r["lee"]} for name, r in results.items()} | {"mini_bert_source": source},
        indent=1))


if __name__ == "__main__":
    main()
