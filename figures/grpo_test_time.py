"""Test-time compute on held-out 2-digit additions: accuracy against the number of sampled
answers n, best-of-n with the verifier and majority vote, for the SFT model and the GRPO model;
the mean over seeds (line) and the seeds' range (band), read from results/grpo.json."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.results import load

MODELS = (("SFT model", "#636363"), ("after GRPO, β = 0.04", "#d94801"))
METHODS = (("best_of_n", "-", "best-of-n (verifier)"), ("majority", "--", "majority vote"))


def curves(runs: list[dict], model: str, method: str) -> tuple[list[int], list[list[float]]]:
    """n and, for each n, the accuracy of every seed."""
    tables = [r["test_time"][model] for r in runs if model in r.get("test_time", {})]
    n = tables[0]["n"]
    return n, [[t[method][i] for t in tables] for i in range(len(n))]


def draw() -> Figure:
    runs = load("grpo")["runs"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for model, colour in MODELS:
        for method, style, label in METHODS:
            n, per_seed = curves(runs, model, method)
            ax.plot(n, [sum(v) / len(v) for v in per_seed], style, marker="o", ms=4,
                    color=colour, label=f"{model}: {label}")
            ax.fill_between(n, [min(v) for v in per_seed], [max(v) for v in per_seed],
                            color=colour, alpha=0.15, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [str(k) for k in n])
    ax.set_xlabel("answers sampled per problem, n")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
