"""Encoding speed of each encoder in every timed run, from results/tokenizers.json (written by
benchmarks/bench_tokenizers.py), against the 2 MB/s goal (tokenization speed page)."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.results import load


def speeds(result: dict) -> dict[str, list[float]]:
    """MB/s of every timed run, per encoder; our memoised encoder was timed in four pairings."""
    mb = result["bytes"] / 1e6
    enc = result["encoding"]
    rate = lambda times: [mb / t for t in times]  # noqa: E731
    return {
        "tiktoken (Rust)": rate(enc["tiktoken"]["b_s"]),
        "tokenizers (Rust)": rate(enc["tokenizers"]["b_s"]),
        "ours, memoised": rate(enc["regex_vs_ours"]["b_s"] + enc["plain_vs_memoised"]["b_s"]
                               + enc["tokenizers"]["a_s"] + enc["tiktoken"]["a_s"]),
        "ours, no memo": rate(enc["plain_vs_memoised"]["a_s"]),
        "regex split alone": rate(enc["regex_vs_ours"]["a_s"]),
    }


def draw() -> Figure:
    result = load("tokenizers")
    rows = speeds(result)
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(6.0, 3.4))
        for y, (name, values) in enumerate(rows.items()):
            ours = name.startswith("ours")
            ax.plot(values, [y] * len(values), "o", ms=8, alpha=0.8,
                    color="#d94801" if ours else "#2171b5")
        ax.axvline(result["goal"]["mb_s"], color="black", ls="--", lw=1.2)
        ax.text(result["goal"]["mb_s"], len(rows) - 0.45, " goal", va="center")
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_ylim(-0.6, len(rows) - 0.2)
        ax.set_xlim(0, None)
        ax.set_xlabel("MB/s on tiny Shakespeare, one dot per timed run")
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
    return fig
