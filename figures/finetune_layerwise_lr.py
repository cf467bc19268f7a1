"""The learning rate each parameter group of the page's GPT gets under full fine-tuning,
freezing the bottom two blocks, and layer-wise decay (snippets.adaptation.freezing; the
three-ways page, fine-tuning chapter)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from snippets.adaptation.freezing import freeze_bottom, layerwise_lr_groups
from snippets.models.gpt import GPT, GPTConfig

LR = 1e-3
CONFIG = GPTConfig(vocab_size=65, context_length=64, n_layers=4, n_heads=4, d_model=128, bias=False)


def schedules() -> tuple[list[str], dict[str, list[float]]]:
    """Group names bottom to top, and each recipe's learning rate per group (0: frozen)."""
    torch.manual_seed(0)
    model = GPT(CONFIG)
    groups = layerwise_lr_groups(model, lr=LR, decay=1.0)
    names = [g["name"] for g in groups]
    freeze_bottom(model, 2)
    frozen = [LR if all(p.requires_grad for p in g["params"]) else 0.0 for g in groups]
    recipes = {"full fine-tuning": [g["lr"] for g in groups], "bottom two frozen": frozen}
    for decay in (0.8, 0.5):
        recipes[f"layer-wise, γ = {decay}"] = [g["lr"] for g in layerwise_lr_groups(GPT(CONFIG), LR, decay)]
    return names, recipes


def draw() -> Figure:
    names, recipes = schedules()
    ticks = ["emb." if n.startswith("embeddings") else n.removeprefix("block ") for n in names]
    styles = {"full fine-tuning": ("#969696", "s", "-"), "bottom two frozen": ("#2171b5", "o", "-"),
              "layer-wise, γ = 0.8": ("#d94801", "^", "-"), "layer-wise, γ = 0.5": ("#d94801", "v", "--")}
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 4.2))
        for name, lrs in recipes.items():
            colour, marker, line = styles[name]
            ax.plot(range(len(lrs)), [lr / LR for lr in lrs], marker=marker, ls=line, color=colour,
                    lw=2, ms=7, label=name)
        ax.set_xticks(range(len(ticks)), ticks)
        ax.set_xlabel("parameter group: embeddings, blocks 1–4, top")
        ax.set_ylabel("learning rate / η")
        ax.set_ylim(-0.05, 1.12)
        ax.legend(frameon=False, fontsize=12, ncol=2, loc="upper center", bbox_to_anchor=(0.45, -0.22))
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
