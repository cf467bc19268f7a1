"""Softmax saturation against d_k, with and without the 1/sqrt(d_k) scale (chapter 2)."""

import math

import matplotlib.pyplot as plt
import torch

from snippets.layers.attention import attention_entropy


def draw():
    g = torch.Generator().manual_seed(0)
    dims = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    T = 64
    rows = {True: ([], []), False: ([], [])}
    for d_k in dims:
        q, k = torch.randn(T, d_k, generator=g), torch.randn(T, d_k, generator=g)  # unit-variance entries
        for scale in (True, False):
            scores = q @ k.T / (math.sqrt(d_k) if scale else 1.0)  # (T, T)
            weights = torch.softmax(scores, dim=-1)
            rows[scale][0].append(attention_entropy(weights).mean().item())
            rows[scale][1].append(weights.amax(dim=-1).mean().item())
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for scale, style in ((True, "o-"), (False, "s--")):
        label = "q·k / sqrt(d_k)" if scale else "q·k (unscaled)"
        left.plot(dims, rows[scale][0], style, label=label)
        right.plot(dims, rows[scale][1], style, label=label)
    left.axhline(math.log(T), color="grey", lw=0.8, ls=":", label=f"uniform: log {T}")
    left.set(xscale="log", xlabel="d_k", ylabel="mean row entropy (nats)", title="Softmax entropy")
    right.set(xscale="log", xlabel="d_k", ylabel="mean largest weight", title="Saturation", ylim=(0, 1.05))
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
