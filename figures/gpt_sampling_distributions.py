"""One next-token distribution as each sampler reshapes it (GPT chapter)."""

import matplotlib.pyplot as plt
import torch

from snippets.models.sampling import next_token_probs


def draw():
    # A fixed logits vector: a few strong candidates and a long tail, like a real LM's.
    logits = torch.tensor([[3.0, 2.6, 2.2, 1.5, 1.0, 0.6, 0.3, 0.0, -0.3, -0.6, -0.9, -1.2]])
    settings = [("model (T=1)", {}), ("T=0.5", {"temperature": 0.5}), ("T=2", {"temperature": 2.0}),
                ("top-k=3", {"top_k": 3}), ("top-p=0.8", {"top_p": 0.8}), ("greedy (T=0)", {"temperature": 0.0})]
    fig, axes = plt.subplots(2, 3, figsize=(9, 4.8), sharey=True)
    tokens = range(logits.shape[1])
    for ax, (title, kw) in zip(axes.flat, settings):
        probs = next_token_probs(logits, **kw)[0]
        ax.bar(tokens, probs.numpy(), color=["tab:blue" if p > 0 else "lightgray" for p in probs])
        ax.set_title(title)
        ax.set_xticks(list(tokens))
        ax.set_ylim(0, 1)
    for ax in axes[:, 0]:
        ax.set_ylabel("probability")
    for ax in axes[1]:
        ax.set_xlabel("token rank")
    fig.suptitle("The distribution each sampler draws from")
    fig.tight_layout()
    return fig
