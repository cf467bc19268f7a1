"""Anisotropy by layer of the real MiniLM, before and after centring and whitening, and the Lee test.

Token states of 400 lines of the plays at every layer (0 = input embeddings): mean cosine between
random tokens from different positions (Ethayarajh 2019). The fixes are fitted on the same states.
Then the Lee et al. (2005) test: Spearman between the cosine of mean-pooled document vectors and
the 50 x 50 human similarity (1,225 pairs), for raw, centred and whitened vectors of each layer.
Writes results/embeddings_anisotropy.md and .json (the page's figure reads the json).
"""

import json

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.embeddings.anisotropy import all_but_the_top, centre, mean_cosine, whitening
from snippets.embeddings.encoder import hidden_states, load_minilm
from snippets.embeddings.sentence import mean_pool
from snippets.embeddings.text import lee_documents, lee_similarities, play_sentences


def main() -> None:
    torch.set_num_threads(1)
    tok, model = load_minilm()
    load_before = load_average()
    rng = np.random.default_rng(0)
    lines = [" ".join(s) for s in play_sentences()]
    lines = [lines[i] for i in rng.choice(len(lines), 400, replace=False)]
    states, masks = hidden_states(tok, model, lines, batch_size=50)
    n_layers = states[0].shape[0]
    per_layer = []
    for layer in range(n_layers):
        tokens = np.concatenate([h[layer][m.bool()].numpy() for h, m in zip(states, masks)])
        w, mu = whitening(tokens)
        per_layer.append({"layer": layer, "raw": mean_cosine(tokens), "centred": mean_cosine(centre(tokens)),
                          "all_but_the_top": mean_cosine(all_but_the_top(tokens, 3)),
                          "whitened": mean_cosine((tokens - mu) @ w)})
    docs = lee_documents()
    human = lee_similarities()[np.triu_indices(50, 1)]
    d_states, d_masks = hidden_states(tok, model, docs, batch_size=25, max_length=256)
    lee = []
    for layer in range(n_layers):
        v = torch.cat([mean_pool(h[layer], m) for h, m in zip(d_states, d_masks)]).numpy()
        def rho(x):
            u = x / np.linalg.norm(x, axis=1, keepdims=True)
            return float(spearmanr((u @ u.T)[np.triu_indices(50, 1)], human).statistic)
        w, mu = whitening(v, dim=32)   # 50 documents: keep at most 32 directions
        lee.append({"layer": layer, "raw": rho(v), "centred": rho(centre(v)), "whitened": rho((v - mu) @ w)})
    load_after = load_average()
    rows = ["| Layer | mean cosine: raw | centred | all-but-the-top (3) | whitened | Lee ρ: raw | centred | whitened (32) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for a, b in zip(per_layer, lee):
        rows.append(f"| {a['layer']} | {a['raw']:.3f} | {a['centred']:.3f} | {a['all_but_the_top']:.3f} | "
                    f"{a['whitened']:.3f} | {b['raw']:.3f} | {b['centred']:.3f} | {b['whitened']:.3f} |")
    rows += ["", f"all-MiniLM-L6-v2, token states of 400 random lines of the plays (layer 0 = the input "
             f"embeddings); Lee: 50 documents, 1,225 pairs, mean-pooled. {machine()}; load average "
             f"{load_before} before, {load_after} after."]
    write_markdown("embeddings_anisotropy.md", rows)
    (RESULTS / "embeddings_anisotropy.json").write_text(json.dumps({"tokens": per_layer, "lee": lee}, indent=1))


if __name__ == "__main__":
    main()
