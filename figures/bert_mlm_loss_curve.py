"""Held-out MLM loss and masked-token accuracy of the mini-BERT (benchmarks/bench_bert_mlm.py),
for the main run, the no-warm-up failure run and its two controls, with the baselines as dashed lines and a
dotted line where the learning rate starts to decay (when the results record the lr)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "bert_mlm.json"


def draw() -> Figure:
    results = json.loads(RESULTS.read_text())
    base = results["baselines"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, run in results["runs"].items():
        steps = [point["step"] for point in run["curve"]]
        ax_loss.plot(steps, [point["test_loss"] for point in run["curve"]], marker=".", label=name)
        line, = ax_acc.plot(steps, [100 * point["test_acc"] for point in run["curve"]], marker=".")
        lrs = [point.get("lr") for point in run["curve"]]
        if None not in lrs and lrs[-1] < 0.5 * max(lrs):
            # the decay is linear in CPU seconds: extend the line through two decayed points back to
            # the peak for the second at which it began, then read the step there off the curve
            peak, secs = max(lrs), [point["seconds"] for point in run["curve"]]
            i = next(k for k in range(1, len(lrs)) if lrs[k] < 0.999 * peak)
            t1, t2, r1, r2 = secs[i], secs[i + 1], lrs[i] / peak, lrs[i + 1] / peak
            t0 = t1 - (1 - r1) * (t2 - t1) / (r1 - r2)
            step0 = steps[i - 1] + (steps[i] - steps[i - 1]) * (t0 - secs[i - 1]) / (secs[i] - secs[i - 1])
            for ax in (ax_loss, ax_acc):
                ax.axvline(step0, color=line.get_color(), linestyle=":", linewidth=1)
    ax_loss.axhline(base["unigram_loss"], color="grey", linestyle="--", label="unigram distribution")
    ax_acc.axhline(100 * base["most_frequent_acc"], color="grey", linestyle="--",
                   label=f"always \"{base['most_frequent_token']}\"")
    ax_loss.set_ylabel("held-out MLM loss (nats)")
    ax_acc.set_ylabel("held-out masked accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("optimiser step")
        ax.spines[["top", "right"]].set_visible(False)
    ax_loss.set_ylim(top=base["uniform_loss"] + 0.2)
    ax_loss.legend(frameon=False, fontsize=8, loc="upper right")   # the runs, named once
    ax_acc.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
