"""Our scaled dot-product attention against torch's fused kernel, as T grows.

Prints time ratios measured in one run on this machine (no absolute goals: a timing test
would only measure the machine).
"""

import time

import torch
import torch.nn.functional as F

from snippets.attention import scaled_dot_product_attention


def best_of(fn, repeats: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    print(f"{'T':>6} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>10} {'time vs T=256':>13}")
    base = None
    for T in (256, 512, 1024, 2048):
        q, k, v = (torch.randn(1, 4, T, 64) for _ in range(3))
        with torch.no_grad():
            ours = best_of(lambda: scaled_dot_product_attention(q, k, v, is_causal=True))
            fused = best_of(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        base = base or ours
        print(f"{T:>6} {ours * 1e3:>9.2f} {fused * 1e3:>9.2f} {ours / fused:>10.2f} {ours / base:>13.2f}")
