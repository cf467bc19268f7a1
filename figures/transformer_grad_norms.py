"""Gradient norm of each layer's FFN output matrix at initialisation, Pre-LN vs Post-LN
(the measurement of Xiong et al., 2020, on a 12-layer stack of the library's blocks)."""

import matplotlib.pyplot as plt

from snippets.layers.blocks import gradient_norms_per_layer


def draw():
    fig, (ax, ax_depth) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for norm_first, label in ((True, "Pre-LN"), (False, "Post-LN")):
        norms = gradient_norms_per_layer(norm_first, n_layers=12)
        ax.plot(range(1, 13), norms, marker="o", label=label)
        depths = (3, 6, 12, 24)
        last = [gradient_norms_per_layer(norm_first, n_layers=n)[-1] for n in depths]
        ax_depth.plot(depths, last, marker="o", label=label)
    ax.set_xlabel("layer")
    ax.set_ylabel(r"$\|\partial L / \partial W_2\|$")
    ax.set_title("Per layer, 12-layer stack")
    ax.set_ylim(bottom=0)
    ax_depth.set_xscale("log", base=2)
    ax_depth.set_xlabel("number of layers L")
    ax_depth.set_title("Last layer, as depth grows")
    ax_depth.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    return fig
