"""Time and score memory of naive attention against T, measured at build time (chapter 2)."""

import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from snippets.layers.attention import scaled_dot_product_attention


def best_time(fn, repeats: int = 2) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def draw():
    torch.manual_seed(0)
    lengths = [128, 256, 512, 1024]
    naive, fused, score_mib = [], [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: less noise from a shared machine
    try:
        for T in lengths:
            q, k, v = (torch.randn(1, 4, T, 64) for _ in range(3))  # (B, H, T, D)
            with torch.no_grad():
                naive.append(best_time(lambda: scaled_dot_product_attention(q, k, v)) * 1e3)
                fused.append(best_time(lambda: F.scaled_dot_product_attention(q, k, v)) * 1e3)
            score_mib.append(4 * T * T * 4 / 2**20)  # (B, H, T, T) float32 scores
    finally:
        torch.set_num_threads(threads)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.loglog(lengths, naive, "o-", label="ours (materialises T x T)")
    left.loglog(lengths, fused, "s-", label="torch fused")
    reference = [naive[-1] * (T / lengths[-1]) ** 2 for T in lengths]
    left.loglog(lengths, reference, ":", color="grey", label="slope 2 (T^2)")
    left.set(xlabel="sequence length T", ylabel="time (ms, one thread, this machine)", title="Time")
    left.legend(fontsize=8)
    right.loglog(lengths, score_mib, "o-")
    right.set(xlabel="sequence length T", ylabel="score tensor (MiB)", title="Memory of the scores")
    for ax in (left, right):
        ax.set_xticks(lengths, [str(T) for T in lengths])
        ax.minorticks_off()
    fig.tight_layout()
    return fig
