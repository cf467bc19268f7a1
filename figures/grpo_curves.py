"""GRPO against more SFT on held-out 2-digit additions, and GRPO on a flawed length reward:
the mean over seeds (line) and the seeds' range (band) at every evaluation, read from
results/grpo.json (written by benchmarks/bench_grpo.py). The seeds' SFT models start 40 points
apart, so the first two panels show each seed's change since its own SFT model, in points."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.results import load

ARMS = (("more SFT", "#636363"), ("GRPO, β = 0.04", "#d94801"), ("GRPO, β = 0", "#2171b5"))
HACKS = (("GRPO on a length reward, β = 0.04", "#d94801"),
         ("GRPO on a length reward, β = 0", "#2171b5"))


def band(runs: list[dict], arm: str, key: str, change: bool = False
         ) -> tuple[list[int], list[float], list[float], list[float]]:
    """Steps, mean, min and max over the seeds of one arm's held-out metric; with change, each
    seed's points gained since its step 0."""
    curves = [r["curve"] for r in runs if r["arm"] == arm]
    steps = [p["step"] for p in curves[0]]
    start = [c[0][key] if change else 0.0 for c in curves]
    scale = 100 if change else 1
    values = [[(c[i][key] - s) * scale for c, s in zip(curves, start)] for i in range(len(steps))]
    return (steps, [sum(v) / len(v) for v in values], [min(v) for v in values],
            [max(v) for v in values])


def draw() -> Figure:
    runs = load("grpo")["runs"]
    fig, (acc, reward, hack) = plt.subplots(1, 3, figsize=(11, 3.4))
    for arm, colour in ARMS:
        for ax, key in ((acc, "accuracy"), (reward, "sampled_reward")):
            steps, mean, low, high = band(runs, arm, key, change=True)
            ax.plot(steps, mean, color=colour, label=arm)
            ax.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
    for arm, colour in HACKS:
        beta = arm.split(", ")[-1]
        for key, style, what in (("length_reward", "--", "length reward"),
                                 ("accuracy", "-", "accuracy")):
            steps, mean, low, high = band(runs, arm, key)
            hack.plot(steps, mean, style, color=colour, label=f"{beta}: {what}")
            hack.fill_between(steps, low, high, color=colour, alpha=0.15, linewidth=0)
    acc.set_title("held-out accuracy (greedy), change", fontsize=10)
    reward.set_title("held-out reward (one sample, T = 1), change", fontsize=10)
    hack.set_title("flawed reward: what it pays vs accuracy", fontsize=10)
    acc.set_ylabel("points since the SFT model")
    hack.set_ylim(0, 1)
    for ax in (acc, reward, hack):
        ax.set_xlabel("step after SFT")
        ax.spines[["top", "right"]].set_visible(False)
    for ax in (acc, reward):
        ax.axhline(0, color="#bdbdbd", linewidth=0.8)
    acc.legend(frameon=False, fontsize=8)
    hack.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig
