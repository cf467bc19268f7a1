"""KV-cache memory held at each step of the mixed-length trace: static batching against
continuous batching over a paged cache, from benchmarks/bench_continuous_batching.py (GPT chapter)."""

import matplotlib.pyplot as plt

from snippets.results import load


def draw():
    r = load("continuous_batching")
    servers = r["servers"]
    styles = {"static": ("tab:gray", "static, batches of 8"),
              "same batch": ("tab:blue", "continuous, at most 8"),
              "equal memory": ("tab:red", "continuous, at most 16, static's peak memory")}
    with plt.rc_context({"font.size": 13}):
        fig, ax = plt.subplots(figsize=(8, 4.2))
        for name, (color, label) in styles.items():
            held = servers[name]["held_positions"]
            ax.step(range(1, len(held) + 1), [h * r["kv_bytes_per_position"] / 1e6 for h in held],
                    where="post", color=color, label=f"{label}: {len(held)} steps")
        ax.set(xlabel="step", ylabel="KV cache held (MB)")
        ax.set_ylim(0, 1.5 * max(servers["static"]["held_positions"]) * r["kv_bytes_per_position"] / 1e6)
        ax.legend(frameon=False, fontsize=11, loc="upper right")
        fig.tight_layout()
    return fig
