"""Where each encoder's parameters are (snippets.models.bert_configs): embeddings, layers, pooler."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.models.bert_configs import FAMILY, EncoderSpec, encoder_parameters, layer_parameters

PARTS = ("embeddings", "layers", "pooler")
COLOURS = ("#8e8e8e", "#1f5fa8", "#2e8b57")


def split(spec: EncoderSpec) -> dict[str, int]:
    """encoder_parameters cut into its three terms; the layers counted once if shared."""
    layers = (1 if spec.shared_layers else spec.n_layers) * layer_parameters(spec.d_model, spec.d_ff)
    pooler = spec.d_model**2 + spec.d_model if spec.pooler else 0
    return {"embeddings": encoder_parameters(spec) - layers - pooler, "layers": layers,
            "pooler": pooler}


def draw() -> Figure:
    names = list(FAMILY)[::-1]  # the page's table order, top to bottom
    parts = {name: split(FAMILY[name]) for name in names}
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    left = [0.0] * len(names)
    for part, colour in zip(PARTS, COLOURS):
        widths = [parts[n][part] / 1e6 for n in names]
        ax.barh(names, widths, left=left, color=colour, label=part)
        left = [a + b for a, b in zip(left, widths)]
    for y, total in enumerate(left):
        ax.text(total + 3, y, f"{total:.0f}M", va="center", fontsize=13)
    ax.set_xlabel("parameters (millions)", fontsize=13)
    ax.set_xlim(0, max(left) * 1.15)
    ax.tick_params(labelsize=13)
    ax.legend(fontsize=13, frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
