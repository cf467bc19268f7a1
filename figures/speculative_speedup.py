"""Speculative decoding: tokens per target call and predicted speed-up against the draft length,
with the speed-ups measured by benchmarks/bench_speculative.py (GPT chapter)."""

import matplotlib.pyplot as plt

from snippets.inference.speculative import expected_speedup, expected_tokens_per_call
from snippets.results import load

GAMMAS = range(1, 11)


def draw():
    measured = load("speculative")
    with plt.rc_context({"font.size": 13}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
        for alpha in (0.5, 0.7, 0.8, 0.9):
            left.plot(GAMMAS, [expected_tokens_per_call(alpha, g) for g in GAMMAS], marker="o",
                      markersize=4, label=f"α = {alpha}")
        left.set(xlabel="draft length γ", ylabel="tokens per target call")
        left.legend(frameon=False, fontsize=11)
        c = measured["cost_ratio_c"]
        rows = measured["rows"]
        alpha = sum(r["acceptance_greedy"] for r in rows) / len(rows)
        right.plot(GAMMAS, [expected_speedup(alpha, g, c) for g in GAMMAS], color="tab:gray",
                   label=f"formula, α = {alpha:.2f}, c = {c:.2f}")
        right.plot([r["gamma"] for r in rows], [r["speedup"] for r in rows], "o", color="tab:red",
                   label="measured here")
        right.axhline(1.0, color="black", linewidth=0.8)
        right.set(xlabel="draft length γ", ylabel="speed-up over plain decoding")
        right.legend(frameon=False, fontsize=11)
        fig.tight_layout()
    return fig
