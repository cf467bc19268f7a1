"""RoPE past its trained length: left, how far each recipe slows each rotating pair (theta'/theta
against pair index); right, the loss at each position of a model trained at 64 and read at 256,
measured by benchmarks/bench_rope_extension.py (chapter 3)."""

import matplotlib.pyplot as plt

from snippets.layers.rope_scaling import rope_frequencies, scaled_frequencies
from snippets.results import load

D_HEAD, TRAINED, FACTOR = 32, 64, 4.0
LABELS = {"none": "plain RoPE", "linear": "position interpolation", "ntk": "NTK-aware",
          "yarn": "YaRN", "llama3": "Llama 3.1"}


def ratios(recipe: str) -> list[float]:
    """theta' / theta for each pair of the chapter's model at 4 times its trained length."""
    if recipe == "none":
        return [1.0] * (D_HEAD // 2)
    scaling = {"type": recipe, "factor": FACTOR}
    if recipe in ("yarn", "llama3"):
        scaling["trained_length"] = TRAINED
    theta, _ = scaled_frequencies(D_HEAD, 10000.0, scaling)
    return (theta / rope_frequencies(D_HEAD)).tolist()


def smoothed(values: list[float], width: int = 16) -> list[float]:
    return [sum(values[max(0, i - width + 1):i + 1]) / len(values[max(0, i - width + 1):i + 1])
            for i in range(len(values))]


def draw():
    measured = load("rope_extension")["median_curves"]
    with plt.rc_context({"font.size": 13}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for recipe, label in LABELS.items():
            left.plot(range(D_HEAD // 2), ratios(recipe), marker="o", markersize=3, label=label)
            right.plot(range(256), smoothed(measured[f"{recipe}@256"]), label=label)
        left.set(xlabel="pair i (fast to slow)", ylabel="θ′ / θ at 4× the trained length", yscale="log")
        left.legend(frameon=False, fontsize=10)
        right.axvline(TRAINED, color="black", linewidth=0.8, linestyle=":")
        right.set(xlabel="position (trained at 64)", ylabel="loss, nats (mean of 16 positions)")
        fig.tight_layout()
    return fig
