"""LoRA's update to scale: a frozen W beside the two thin factors B and A of rank r, with their
sizes read off a snippets.adaptation.lora.LoRALinear wrapping one attention projection of the
page's GPT (width 128, r = 8, alpha = 16; LoRA page, fine-tuning chapter)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from snippets.adaptation.lora import LoRALinear
from snippets.models.gpt import GPTConfig

R, ALPHA = 8, 16  # as the page's add_lora(..., r=8, alpha=16)


def layer() -> LoRALinear:
    width = GPTConfig().d_model
    return LoRALinear(nn.Linear(width, width), r=R, alpha=ALPHA,
                      generator=torch.Generator().manual_seed(0))


def draw() -> Figure:
    lora = layer()
    c_out, c_in = lora.base.weight.shape
    b_rows, r = lora.lora_B.shape        # (C_out, r)
    _, a_cols = lora.lora_A.shape        # (r, C_in)
    gap = 0.3 * c_in
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.3))
        boxes = [  # name, x, y, width, height, colour, label
            ("W", 0, 0, c_in, c_out, "#d9d9d9", f"W (frozen)\n{c_out} × {c_in}\n{lora.base.weight.numel():,}"),
            ("B", c_in + gap, 0, r, b_rows, "#fd8d3c", None),
            ("A", c_in + gap + r + 0.12 * c_in, c_out - r, a_cols, r, "#fd8d3c", None),
        ]
        for name, x, y, w, h, colour, label in boxes:
            ax.add_patch(Rectangle((x, y), w, h, fc=colour, ec="black", lw=1.2, label=name))
            if label:
                ax.text(x + w / 2, y + h / 2, label, ha="center", va="center")
        b_x, a_x = boxes[1][1], boxes[2][1]
        ax.text(c_in + gap / 2, c_out / 2, "+", ha="center", va="center", fontsize=22)
        ax.text(b_x + r + 0.06 * c_in, c_out - r / 2, "·", ha="center", va="center", fontsize=22)
        ax.text(b_x + r / 2, -0.04 * c_out, f"B: {b_rows} × {r}", ha="center", va="top")
        ax.text(a_x + a_cols / 2, c_out - r - 0.04 * c_out, f"A: {r} × {a_cols}", ha="center", va="top")
        trainable = lora.lora_A.numel() + lora.lora_B.numel()
        ax.text(a_x + a_cols / 2, 0.35 * c_out,
                f"ΔW = (α/r) B A\nrank ≤ r = {r}, α/r = {lora.scaling:g}\n"
                f"trainable {trainable:,}\n= {trainable / lora.base.weight.numel():.1%} of W",
                ha="center", va="center")
        ax.set_xlim(-2, a_x + a_cols + 2)
        ax.set_ylim(-0.16 * c_out, c_out + 2)
        ax.set_aspect("equal")
        ax.axis("off")
        fig.tight_layout()
    return fig
