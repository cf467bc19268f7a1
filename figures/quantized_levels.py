"""Weight-only quantisation, seen twice. Left: one group of 128 weights rounded to int8 (a scale
for its row) and to int4 (a scale and an offset for the group), each weight's rounding error
against its value, inside ± half a step; computed by snippets/inference/quantized.py. Right: the
measured batch-1 decoding speed of GPT-2 small's shape in float32, int8 (weight-only, and with
int8 activations) and int4 against the
bytes a step reads, under the bound bandwidth / bytes (results/quantized.json)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from snippets.inference.quantized import (dequantize_int4, dequantize_int8, quantize_int4,
                                          quantize_int8)
from snippets.results import load

COLOURS = {"float32": "#636363", "int8": "#2171b5", "int8, int8 activations": "#6a51a3",
           "int4": "#d94801"}


def one_group() -> torch.Tensor:
    """A row of 128 weights, Gaussian with one outlier, in float64 so the figure is exact."""
    g = torch.Generator().manual_seed(0)
    row = torch.randn(1, 128, generator=g, dtype=torch.float64) * 0.02
    row[0, 17] = 0.09  # one large weight: it sets the int4 group's range and the int8 row's scale
    return row


def errors() -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """For int8 and int4: the weights, their rounding errors, and half a step."""
    W = one_group()
    q8, s8 = quantize_int8(W)
    q4, s4, low4 = quantize_int4(W, group=128)
    return {"int8": (W[0], (dequantize_int8(q8, s8) - W)[0], float(s8[0]) / 2),
            "int4": (W[0], (dequantize_int4(q4, s4, low4) - W)[0], float(s4[0, 0]) / 2)}


def draw() -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, (w, error, half) in errors().items():
        left.scatter(w, error, s=9, color=COLOURS[name], label=f"{name}: ± half a step = {half:.4f}")
        left.axhline(half, color=COLOURS[name], linestyle="--", linewidth=0.8)
        left.axhline(-half, color=COLOURS[name], linestyle="--", linewidth=0.8)
    left.set_xlabel("weight value (one group of 128, one outlier)")
    left.set_ylabel("rounding error")
    left.set_title("rounding error of each weight", fontsize=10)
    top = 1.7 * max(half for _, _, half in errors().values())  # room above the points for the legend
    left.set_ylim(-top * 0.75, top)
    left.legend(frameon=False, fontsize=8, loc="upper center", ncol=1)

    speed = load("quantized")["speed"]
    bandwidth = speed["float32"]["bandwidth_gb_s"]
    steps = {name: speed[name]["step_bytes"] for name in speed}
    rates = {name: speed[name]["tokens_per_s"] if name != "float32"
             else speed["int8"]["float32_tokens_per_s"] for name in speed}
    span = torch.logspace(7.5, 9, 50).tolist()
    right.plot([b / 1e6 for b in span], [bandwidth * 1e9 / b for b in span], color="#bdbdbd",
               label=f"bound: {bandwidth:.0f} GB/s / bytes a step")
    for name in steps:
        right.scatter(steps[name] / 1e6, rates[name], s=36, color=COLOURS[name], zorder=3,
                      label=f"{name}: {rates[name]:.0f} tokens/s")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("MB read a decoding step")
    right.set_ylabel("tokens/s, batch 1")
    right.set_title("GPT-2 small's shape, measured", fontsize=10)
    right.legend(frameon=False, fontsize=8, loc="upper right")
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
