"""QK-norm at a high learning rate: left, the training loss; right, the largest attention score
of any head, against the step, for each variant, measured by benchmarks/bench_qk_norm.py
(chapter 3). Each line is the median over the seeds at every recorded step."""

import statistics

import matplotlib.pyplot as plt

from snippets.results import load

LABELS = {"plain": "plain", "qk_norm": "QK-norm", "qk_norm_z_loss": "QK-norm + z-loss"}


def median_curve(runs: list[dict], variant: str, lr: float, key: str) -> tuple[list[int], list[float]]:
    """Steps and the median over seeds of `key` ("loss" or "max_logit") at each recorded step."""
    mine = [r[key] for r in runs if r["variant"] == variant and r["lr"] == lr]
    steps = [step for step, _ in mine[0]]
    return steps, [statistics.median(curve[i][1] for curve in mine) for i in range(len(steps))]


def draw():
    data = load("qk_norm")
    high, low = max(data["lrs"]), min(data["lrs"])
    with plt.rc_context({"font.size": 13}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for variant, label in LABELS.items():
            for ax, key in ((left, "loss"), (right, "max_logit")):
                ax.plot(*median_curve(data["runs"], variant, high, key), label=f"{label}, lr {high:g}")
        for ax, key in ((left, "loss"), (right, "max_logit")):
            ax.plot(*median_curve(data["runs"], "plain", low, key), color="grey", linestyle="--",
                    label=f"plain, lr {low:g}")
            ax.set(xlabel="step")
        left.set(ylabel="training loss, nats")
        right.set(ylabel="largest |q·k| / √D", yscale="log")
        left.legend(frameon=False, fontsize=10)
        fig.tight_layout()
    return fig
