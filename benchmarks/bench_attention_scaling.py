"""Attention cost as T grows: our naive attention, our tiled (online-softmax) attention and
torch's fused kernel.

Prints ratios measured in one run on this machine (no absolute goals: a timing test would only
measure the machine). Memory is the size of the largest score tensor each method holds, which
is what grows as T^2 for the naive form and stays one tile for the tiled and fused forms.
"""

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from snippets.layers.attention import scaled_dot_product_attention, tiled_attention

B, H, D, BLOCK = 1, 4, 64, 128


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    lengths = (256, 512, 1024, 2048)
    print(f"B={B} H={H} D={D}, causal, float32, {torch.get_num_threads()} threads, tile {BLOCK}x{BLOCK}")
    print(f"{'T':>6} {'naive ms':>9} {'tiled ms':>9} {'fused ms':>9} {'naive/fused':>11} "
          f"{'tiled/fused':>11} {'naive t/t(T/2)':>14} {'naive scores MiB':>16} {'tiled tile MiB':>14}")
    previous = None
    for T in lengths:
        q, k, v = (torch.randn(B, H, T, D) for _ in range(3))
        with torch.no_grad():
            naive = best_of(lambda: scaled_dot_product_attention(q, k, v, is_causal=True))
            tiled = best_of(lambda: tiled_attention(q, k, v, BLOCK, BLOCK, is_causal=True), repeats=3)
            fused = best_of(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        growth = f"{naive / previous:>14.2f}" if previous else f"{'-':>14}"
        previous = naive
        score_mib = B * H * T * T * 4 / 2**20        # (B, H, T, T) float32
        tile_mib = B * H * BLOCK * min(BLOCK, T) * 4 / 2**20
        print(f"{T:>6} {naive * 1e3:>9.2f} {tiled * 1e3:>9.2f} {fused * 1e3:>9.2f} {naive / fused:>11.2f} "
              f"{tiled / fused:>11.2f} {growth} {score_mib:>16.1f} {tile_mib:>14.2f}")
    print("naive t/t(T/2) near 4 means time grows as T^2; score memory grows 4x per doubling, the tile's not at all")
