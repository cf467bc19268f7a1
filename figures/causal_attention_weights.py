"""Heatmap of causal self-attention weights for a short sentence (landing page)."""

import matplotlib.pyplot as plt
import torch

from snippets.layers.attention import scaled_dot_product_attention


def draw():
    words = "the cat sat on the mat".split()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(len(words), 16, generator=g)  # (T, C) stand-in embeddings
    _, weights = scaled_dot_product_attention(x, x, x, is_causal=True)  # (T, T)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    image = ax.imshow(weights.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(words)), words, rotation=45)
    ax.set_yticks(range(len(words)), words)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title("Causal attention weights")
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig
