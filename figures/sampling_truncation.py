"""Top-k, top-p and min-p cutting the same two next-token distributions (GPT chapter)."""

import matplotlib.pyplot as plt
import torch

from snippets.models.sampling import next_token_probs

# One confident and one flat distribution over 10 tokens, each sorted by probability.
DISTRIBUTIONS = {
    "confident": torch.tensor([[0.75, 0.07, 0.05, 0.035, 0.025, 0.02, 0.018, 0.015, 0.01, 0.007]]),
    "flat": torch.tensor([[0.16, 0.15, 0.14, 0.12, 0.11, 0.09, 0.08, 0.06, 0.05, 0.04]]),
}
FILTERS = [("top-k = 3", {"top_k": 3}), ("top-p = 0.9", {"top_p": 0.9}), ("min-p = 0.1", {"min_p": 0.1})]


def draw():
    with plt.rc_context({"font.size": 13}):
        fig, axes = plt.subplots(2, 3, figsize=(7.5, 5.4), sharex=True, sharey="row")
        tokens = range(10)
        for row, (name, probs) in zip(axes, DISTRIBUTIONS.items()):
            for ax, (title, kw) in zip(row, FILTERS):
                kept = next_token_probs(probs.log(), **kw)[0] > 0
                ax.bar(tokens, probs[0].numpy(), color=["tab:blue" if k else "lightgray" for k in kept])
                if "min_p" in kw:  # the cut-off line: a share of the top token's probability
                    ax.axhline(kw["min_p"] * float(probs.max()), color="tab:red", linestyle="--")
                ax.set_title(f"{title}: {int(kept.sum())} kept", fontsize=13)
                ax.set_xticks([0, 3, 6, 9])
            row[0].set_ylabel(f"{name}\nprobability")
        for ax in axes[1]:
            ax.set_xlabel("token rank")
        fig.tight_layout()
    return fig
