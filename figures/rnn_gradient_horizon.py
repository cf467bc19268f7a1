"""How far back a gradient reaches: ||dL/dx_{T-1-k}|| against k for tanh RNNs at several
spectral radii, LSTMs with forget-gate biases 0, 1 and 3, and a GRU (chapter 1)."""

import matplotlib.pyplot as plt

from snippets.models.gradient_flow import gradient_horizons


def draw():
    runs = gradient_horizons()
    fig, (ax_rnn, ax_gated) = plt.subplots(1, 2, figsize=(9.6, 3.8), sharey=True)
    for name, (norms, _) in runs.items():
        ax = ax_rnn if name.startswith("tanh RNN") else ax_gated
        relative = (norms / norms[0]).clamp_min(1e-80)
        ax.semilogy(range(len(norms)), relative.tolist(), label=name)
    for ax, title in ((ax_rnn, "tanh RNN, W_hh rescaled"), (ax_gated, "Gated cells")):
        ax.set_xlabel("distance k (steps before the prediction)")
        ax.set_title(title)
        ax.set_ylim(1e-80, 10)
        ax.legend(fontsize=7)
    ax_rnn.set_ylabel(r"$\|\partial L/\partial x_{T-1-k}\| \;/\; \|\partial L/\partial x_{T-1}\|$")
    fig.tight_layout()
    return fig
