# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Attention playground
#
# Change the sentence, the mask and the temperature below, then re-run the cell to see
# how the attention weights move. The weights are
# $\operatorname{softmax}(q k^\top / (\tau \sqrt{d_k}))$ with a temperature $\tau$:
# $\tau < 1$ sharpens each row towards its largest score, $\tau > 1$ flattens it towards
# uniform. The vectors are random stand-ins for token embeddings, so the pattern says
# nothing about language; what matters is how each knob reshapes it.

# %%
import matplotlib.pyplot as plt
import torch

from snippets.attention import scaled_dot_product_attention

sentence = "the quick brown fox jumps over the lazy dog"  # try your own
causal = True  # False lets every token see every other token
temperatures = [0.25, 1.0, 4.0]  # try 0.1 or 10

torch.manual_seed(0)
words = sentence.split()
x = torch.randn(len(words), 16)  # (T, C)

fig, axes = plt.subplots(1, len(temperatures), figsize=(4.2 * len(temperatures), 4))
for ax, tau in zip(axes, temperatures):
    _, weights = scaled_dot_product_attention(x / tau, x, x, is_causal=causal)  # (T, T)
    ax.imshow(weights.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(words)), words, rotation=60)
    ax.set_yticks(range(len(words)), words)
    ax.set_title(f"temperature {tau}")
fig.tight_layout()

# %% [markdown]
# Dividing the queries by $\tau$ divides every score by $\tau$, which is exactly a softmax
# temperature. The entropy of each row measures how spread out the attention is: it falls
# as $\tau$ shrinks.

# %%
for tau in temperatures:
    _, weights = scaled_dot_product_attention(x / tau, x, x, is_causal=causal)
    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(dim=-1).mean()
    print(f"temperature {tau:>5}: mean row entropy {entropy:.3f} nats")
