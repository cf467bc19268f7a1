"""DPO's failure and DPOP's remedy: reward margin and the chosen answers' log-likelihood against
steps, read from results/finetune_dpo.json (written by benchmarks/bench_finetune_dpo.py)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "finetune_dpo.json"


def pending() -> Figure:
    """Drawn until the benchmark has written its results (a fresh clone builds too)."""
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, "benchmark not run yet: python -m benchmarks finetune_dpo", ha="center",
            va="center")
    return fig


def draw() -> Figure:
    if not RESULTS.exists():
        return pending()
    runs = json.loads(RESULTS.read_text())
    fig, (margin, chosen) = plt.subplots(1, 2, figsize=(8, 3.2), sharex=True)
    for name, run in runs.items():
        steps = [p["step"] for p in run["curve"]]
        margin.plot(steps, [p["reward_margin"] for p in run["curve"]], label=name)
        line, = chosen.plot(steps, [p["chosen_logp"] for p in run["curve"]],
                            label=f"{name}: chosen")
        chosen.plot(steps, [p["rejected_logp"] for p in run["curve"]], linestyle="--",
                    color=line.get_color(), label=f"{name}: rejected")
    margin.set_title("reward margin β·m (held-out pairs)", fontsize=10)
    chosen.set_title("log-likelihood per character", fontsize=10)
    for ax in (margin, chosen):
        ax.set_xlabel("step")
        ax.spines[["top", "right"]].set_visible(False)
    margin.legend(frameon=False, fontsize=8)
    chosen.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig
