"""A model trained at 64 positions reads 256 under five KV caches: left, the loss at each position
(mean of 16 positions); right, the attention weight on position 0 in each layer against uniform
attention. Measured by benchmarks/bench_attention_sinks.py (chapter 3)."""

import matplotlib.pyplot as plt

from snippets.results import load

LABELS = {"full": "full cache", "window": "window of 32", "sinks": "window + 4 sinks (StreamingLLM)",
          "sinks_absolute": "window + 4 sinks, text positions", "recompute": "recompute the window"}
STYLES = {"window": ":", "recompute": "--"}


def smoothed(values: list[float], width: int = 16) -> list[float]:
    return [sum(values[max(0, i - width + 1):i + 1]) / len(values[max(0, i - width + 1):i + 1])
            for i in range(len(values))]


def draw():
    data = load("attention_sinks")
    with plt.rc_context({"font.size": 13}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
        for cache, label in LABELS.items():
            left.plot(range(data["length"]), smoothed(data["median_curves"][cache]), label=label,
                      linestyle=STYLES.get(cache, "-"))
        left.axvline(data["trained_length"], color="black", linewidth=0.8, linestyle=":")
        left.set(xlabel=f"position (trained at {data['trained_length']})",
                 ylabel="loss, nats (mean of 16 positions)")
        left.legend(frameon=False, fontsize=9, loc="upper left")
        layers = range(1, len(data["weight_on_first"]) + 1)
        right.bar(layers, data["weight_on_first"], color="tab:blue", label="measured")
        right.axhline(data["uniform_weight"], color="black", linestyle="--", linewidth=1,
                      label="uniform attention")
        right.set(xlabel="layer", ylabel="weight on position 0", xticks=list(layers))
        right.legend(frameon=False, fontsize=9)
        fig.tight_layout()
    return fig
