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
# # Transformer lab: positions and normalisation
#
# Three experiments from the chapter "The Transformer architecture, complete". Change the
# knobs in each cell and re-run it.
#
# 1. Heatmaps of the sinusoidal table and of the similarity $PE_m \cdot PE_n$ between positions.
# 2. RoPE: one 2-D pair of a query rotating with position, and the score $q_m \cdot k_n$
#    that depends only on $m - n$.
# 3. Gradient norms per layer at initialisation, Pre-LN against Post-LN.

# %%
import matplotlib.pyplot as plt
import torch

from snippets.layers.blocks import gradient_norms_per_layer
from snippets.layers.positional import RotaryEmbedding, alibi_bias, sinusoidal_table

max_len = 64   # positions to show
d_model = 32   # width of the table; try 8 or 128
base = 10000.0  # the wavelength base; try 100 and see the pattern repeat sooner

pe = sinusoidal_table(max_len, d_model, base)  # (T, C)
similarity = pe @ pe.T                          # (T, T)
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(12, 3.4))
ax1.imshow(pe.T.numpy(), aspect="auto", cmap="RdBu")
ax1.set_xlabel("position"), ax1.set_ylabel("channel"), ax1.set_title("sinusoidal PE")
ax2.imshow(similarity.numpy(), cmap="viridis")
ax2.set_title(r"$PE_m \cdot PE_n$ (depends on $m-n$)")
ax3.imshow(alibi_bias(8, 16)[0].numpy(), cmap="magma")
ax3.set_title("ALiBi bias, head 1 (slope 1/2)")
fig.tight_layout()

# %% [markdown]
# ## RoPE rotates pairs of channels
#
# The first pair of channels turns by $\theta_0 = 1$ radian per position, the last pair
# by $\theta_{D/2-1} = \text{base}^{-(D-2)/D}$, almost not at all. The right panel keeps the
# offset $m - n$ fixed and moves both positions: the score stays on a flat line.

# %%
d_head = 16
offset = 3  # m - n; try other values
rope = RotaryEmbedding(d_head, base=base)
torch.manual_seed(0)
q, k = torch.randn(1, 1, 1, d_head), torch.randn(1, 1, 1, d_head)
positions = range(0, 40)
first_pair = torch.stack([rope(q, m)[0, 0, 0, :2] for m in positions])  # (40, 2)
scores = [(rope(q, m) * rope(k, m - offset)).sum().item() for m in range(offset, 40)]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.plot(first_pair[:, 0], first_pair[:, 1], marker=".")
ax1.set_aspect("equal"), ax1.set_title("pair 0 of q as position grows")
ax2.plot(range(offset, 40), scores)
ax2.set_ylim(min(scores) - 1, max(scores) + 1)
ax2.set_xlabel("m"), ax2.set_title(f"score q_m . k_(m-{offset})")
fig.tight_layout()

# %% [markdown]
# ## Pre-LN vs Post-LN at initialisation
#
# Gradient norm of each layer's FFN output matrix after one backward pass. Increase
# `n_layers` to watch the Pre-LN curve sink while Post-LN stays put. Xiong et al.'s bound is
# $1/\sqrt{L}$; at this small width the measured drop is milder (the chapter prints both).

# %%
n_layers = 12
d = 64
fig, ax = plt.subplots(figsize=(5, 3.4))
for norm_first, label in ((True, "Pre-LN"), (False, "Post-LN")):
    ax.plot(range(1, n_layers + 1), gradient_norms_per_layer(norm_first, n_layers, d), marker="o", label=label)
ax.set_xlabel("layer"), ax.set_ylabel("gradient norm"), ax.set_ylim(bottom=0), ax.legend()
fig.tight_layout()
