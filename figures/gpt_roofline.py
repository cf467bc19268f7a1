"""Prefill and decode of GPT-2 small's shape on this machine's roofline: the two roofs measured
by benchmarks/bench_roofline.py, and its measured passes at the intensity they have (GPT chapter)."""

import matplotlib.pyplot as plt
from matplotlib.ticker import ScalarFormatter
import numpy as np

from snippets.inference.roofline import roofline
from snippets.results import load


def draw():
    r = load("roofline")
    peak, bandwidth = r["peak_flops"], r["bandwidth_bytes_per_s"]
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(8, 4.8))
        intensity = np.logspace(-1, 3, 200)
        ax.plot(intensity, [roofline(i, peak, bandwidth) / 1e9 for i in intensity], color="black",
                label=f"roof: min({peak / 1e9:.0f} GFLOP/s, {bandwidth / 1e9:.1f} GB/s × intensity)")
        ax.axvline(r["ridge"], color="tab:gray", linestyle=":", linewidth=1)
        ax.annotate(f"ridge {r['ridge']:.1f} FLOP/byte", (r["ridge"], peak / 1e9), color="tab:gray",
                    fontsize=11, xytext=(6, 6), textcoords="offset points")
        for phase, color, key in (("prefill", "tab:blue", "prompt"), ("decode", "tab:red", "batch")):
            points = [p for p in r["points"] if p["phase"] == phase]
            ax.plot([p["intensity"] for p in points], [p["flops_per_s"] / 1e9 for p in points], "o-",
                    color=color, label=f"{phase}, measured")
            for p in points:
                n = p["tokens"] if phase == "prefill" else p["batch"]
                ax.annotate(f"{key} {n}", (p["intensity"], p["flops_per_s"] / 1e9), fontsize=10,
                            color=color, xytext=(5, -12) if phase == "prefill" else (-58, 4),
                            textcoords="offset points")
        ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP per byte moved)",
               ylabel="GFLOP/s", ylim=(1, 3 * peak / 1e9))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.legend(frameon=False, fontsize=10, loc="lower right")
        fig.tight_layout()
    return fig
