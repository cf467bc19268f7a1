"""Training memory per fine-tuning method: the counted parts (weight gradients, AdamW state,
saved activations) stacked, beside the measured peak RSS, for MiniLM and our GPT, read from
results/finetune_cost.json and finetune_cost_gpt.json (costs page, fine-tuning chapter)."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.results import load

MIB = 2 ** 20
PARTS = (("grads", "weight gradients", "#fdae6b"), ("adam", "AdamW state", "#e6550d"),
         ("activations", "saved activations", "#6baed6"))
SHORT = {"full fine-tuning": "full", "frozen encoder + head": "frozen + head",
         "frozen trunk + head": "frozen + head"}


def short(method: str) -> str:
    return SHORT.get(method, method.split(" (")[0])  # "LoRA r=8 (query, value)" -> "LoRA r=8"


def draw() -> Figure:
    models = (("MiniLM (22.7M parameters)", load("finetune_cost")),
              ("our GPT (0.8M parameters)", load("finetune_cost_gpt")))
    with plt.rc_context({"font.size": 13}):
        fig, axes = plt.subplots(2, 1, figsize=(6.0, 5.2))
        for ax, (title, runs) in zip(axes, models):
            names = list(runs)
            for y, name in enumerate(names):
                left = 0.0
                for key, label, colour in PARTS:
                    width = runs[name][key] / MIB
                    ax.barh(y, width, left=left, color=colour, label=label if y == 0 else None)
                    left += width
                ax.plot(runs[name]["peak_above"] / MIB, y, "D", color="black", ms=7,
                        label="measured peak" if y == 0 else None)
            ax.set_yticks(range(len(names)), [short(n) for n in names])
            ax.invert_yaxis()
            ax.set_title(title)
            ax.set_xlim(0, None)
            ax.grid(axis="x", alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
        axes[1].set_xlabel("MiB above the loaded model")
        axes[0].legend(frameon=False, fontsize=12, loc="lower right")
        fig.tight_layout()
    return fig
