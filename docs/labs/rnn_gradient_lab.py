# %% [markdown]
# # RNN gradient lab
#
# How far back does a gradient reach? This lab measures $\|\partial L / \partial x_{T-1-k}\|$
# against the distance $k$ for a one-layer recurrent network of the library
# (`snippets.layers.recurrent`), with $L = u^\top h_T$ for a fixed random unit vector $u$
# (`snippets.models.gradient_flow.input_gradient_horizon`). Change the knobs in the next
# cell and run the lab again: the spectral radius of $W_{hh}$, the nonlinearity of the
# Elman cell, and the LSTM's forget-gate bias. The chapter
# [Why RNNs failed at scale](../../why_rnns_failed_at_scale/) derives what you will see.

# %%
import matplotlib.pyplot as plt
import torch

from snippets.layers.recurrent import Recurrent
from snippets.models.gradient_flow import decay_rate, input_gradient_horizon, set_spectral_radius

SPECTRAL_RADII = [0.5, 0.9, 1.0, 1.2]     # for the Elman cell's W_hh
NONLINEARITY = "tanh"                     # "tanh", "relu" or "linear"
FORGET_BIASES = [0.0, 1.0, 2.0, 4.0]      # added to the LSTM's forget-gate bias
WIDTH, STEPS, SEED = 32, 101, 0

# %%
torch.manual_seed(SEED)
x = torch.randn(2, STEPS, WIDTH, dtype=torch.float64)


def elman(rho: float) -> Recurrent:
    torch.manual_seed(SEED)
    mode = "rnn_relu" if NONLINEARITY == "relu" else "rnn_tanh"
    layer = Recurrent(mode, WIDTH, WIDTH).double()
    if NONLINEARITY == "linear":
        layer.cells[0].phi = lambda a: a
    set_spectral_radius(layer.cells[0], rho)
    return layer


def lstm(bias: float) -> Recurrent:
    torch.manual_seed(SEED)
    return Recurrent("lstm", WIDTH, WIDTH, forget_bias=bias).double()


fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for rho in SPECTRAL_RADII:
    g = input_gradient_horizon(elman(rho), x)
    left.semilogy((g / g[0]).tolist(), label=f"rho = {rho}: {decay_rate(g, 10, 60):+.3f}/step")
for bias in FORGET_BIASES:
    g = input_gradient_horizon(lstm(bias), x)
    right.semilogy((g / g[0]).tolist(), label=f"forget bias +{bias}: {decay_rate(g, 10, 60):+.3f}/step")
left.set_title(f"Elman RNN, {NONLINEARITY}")
right.set_title("LSTM")
for ax in (left, right):
    ax.set_xlabel("distance k")
    ax.legend()
left.set_ylabel("relative gradient norm")
plt.show()

# %% [markdown]
# Things to try: set `NONLINEARITY = "linear"` and compare $\rho$ just below and just above 1
# (vanishing against exploding, at the rate $\log \rho$ per step); set it back to `"tanh"` and
# push $\rho$ to 2 or 3 (the curve no longer explodes: saturated units pass nothing back). For
# the LSTM, find the bias at which the curve becomes nearly flat over 100 steps.
