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
# $\operatorname{softmax}(q k^\top / (\tau \sqrt{d_k}) + M)$ with a temperature $\tau$ and a
# mask $M$: $\tau < 1$ sharpens each row towards its largest score, $\tau > 1$ flattens it
# towards uniform. The vectors are random stand-ins for token embeddings, projected by random
# $W^Q$ and $W^K$ (with $q = k = x$ every token would mostly attend to itself), so the pattern
# says nothing about language; what matters is how each knob reshapes it. The chapter
# [Attention mechanism deep dive](../../attention_mechanism_deep_dive/) derives every piece.
# Without a mask, attention does not know word order: permute the words and the rows and
# columns permute with them ([positional encodings](../../transformer_architecture_complete/positional-encodings/)
# are what the Transformer adds for that).

# %%
import matplotlib.pyplot as plt
import torch

from snippets.layers.attention import (
    MultiHeadAttention, attention_entropy, causal_mask, scaled_dot_product_attention,
    sliding_window_mask,
)

sentence = "the quick brown fox jumps over the lazy dog"  # try your own
mask_kind = "causal"  # "none", "causal" or "window"
window = 3  # keys each query sees under mask_kind = "window"
temperatures = [0.25, 1.0, 4.0]  # try 0.1 or 10

torch.manual_seed(0)
words = sentence.split()
T = len(words)
x = torch.randn(T, 16)  # (T, C)
w_q, w_k = torch.randn(16, 16) / 4, torch.randn(16, 16) / 4  # random projections, entries var 1/C
q, k = x @ w_q, x @ w_k  # (T, C) each
masks = {"none": None, "causal": causal_mask(T), "window": sliding_window_mask(T, window)}
mask = masks[mask_kind]

fig, axes = plt.subplots(1, len(temperatures), figsize=(4.2 * len(temperatures), 4))
for ax, tau in zip(axes, temperatures):
    _, weights = scaled_dot_product_attention(q / tau, k, x, mask=mask)  # (T, T)
    ax.imshow(weights.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(T), words, rotation=60)
    ax.set_yticks(range(T), words)
    ax.set_title(f"{mask_kind} mask, temperature {tau}")
fig.tight_layout()

# %% [markdown]
# Dividing the queries by $\tau$ divides every score by $\tau$, which is exactly a softmax
# temperature. The entropy of each row measures how spread out the attention is: it falls
# as $\tau$ shrinks. Under a mask, a row can never exceed $\log(\text{keys it may see})$.

# %%
for tau in temperatures:
    _, weights = scaled_dot_product_attention(q / tau, k, x, mask=mask)
    print(f"temperature {tau:>5}: mean row entropy {attention_entropy(weights).mean():.3f} nats")

# %% [markdown]
# ## Padding: a batch of two sentences of different lengths
#
# A batch is a rectangle, so the shorter sentence is filled with `<pad>` tokens. The padding
# mask, shape $(B, 1, T_k)$, stops every query from looking at a pad key. Set
# `use_padding_mask = False` to see the short sentence's real tokens leak weight onto pads,
# and its outputs change with the (meaningless) pad vectors.

# %%
batch = ["the cat sat on the mat", "dogs bark"]  # try your own
use_padding_mask = True

tokens = [s.split() for s in batch]
T_max = max(len(t) for t in tokens)
padded = [t + ["<pad>"] * (T_max - len(t)) for t in tokens]
keep = torch.tensor([[w != "<pad>" for w in row] for row in padded])  # (B, T_k), True = real token
xb = torch.randn(len(batch), T_max, 16)  # (B, T, C)

_, weights = scaled_dot_product_attention(xb, xb, xb, mask=keep[:, None, :] if use_padding_mask else None)
fig, axes = plt.subplots(1, len(batch), figsize=(4.2 * len(batch), 4))
for ax, row, w in zip(axes, padded, weights):
    ax.imshow(w.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(T_max), row, rotation=60)
    ax.set_yticks(range(T_max), row)
    ax.set_title("padding mask on" if use_padding_mask else "no padding mask")
fig.tight_layout()
short = keep[1]
print("weight the short sentence's real tokens put on pads:",
      round(weights[1][short][:, ~short].sum(-1).mean().item(), 3))

# %% [markdown]
# ## Heads
#
# Multi-head attention splits the width $C$ into $H$ heads of width $C/H$, each with its own
# projections and its own pattern. Change `n_heads` (it must divide 16) and `n_kv_heads`
# (it must divide `n_heads`; 1 is multi-query attention).

# %%
n_heads, n_kv_heads = 4, 2

mha = MultiHeadAttention(16, n_heads, n_kv_heads=n_kv_heads, impl="ours").eval()
with torch.no_grad():
    xs = x.unsqueeze(0)  # (1, T, C)
    q = mha.split_heads(mha.q_proj(xs), n_heads)      # (1, H, T, D)
    k = mha.split_heads(mha.k_proj(xs), n_kv_heads)   # (1, H_kv, T, D)
    k = k.repeat_interleave(n_heads // n_kv_heads, dim=1)
    _, head_weights = scaled_dot_product_attention(q, k, k, mask=mask)  # (1, H, T, T)
fig, axes = plt.subplots(1, n_heads, figsize=(3.2 * n_heads, 3.4), squeeze=False)
for h, ax in enumerate(axes[0]):
    ax.imshow(head_weights[0, h].numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(T), words, rotation=90)
    ax.set_yticks(range(T), words)
    ax.set_title(f"head {h} (K/V head {h // (n_heads // n_kv_heads)})")
fig.tight_layout()
