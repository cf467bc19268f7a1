"""Sequential depth: one LSTM layer against one self-attention layer of the same width (chapter 1).

Forward plus backward wall time of nn.LSTM(C, C) (torch's fused kernels, the fastest LSTM at
hand; ours is proven equal to it) and of the attention chapter's MultiHeadAttention(C, 4),
causal, at batch 8 and width 128, against the sequence length T. The LSTM needs T dependent
steps; attention needs one step whose work grows as T^2. One torch thread; median of 5
interleaved pairs.
Writes results/rnn_depth.{json,md}.
"""

import json
import statistics
import time

import torch
from torch import nn

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.layers.attention import MultiHeadAttention

B, C, HEADS, REPEATS = 8, 128, 4, 5
LENGTHS = [32, 64, 128, 256, 512, 1024]


def fwd_bwd_seconds(fn, x: torch.Tensor) -> float:
    x = x.detach().requires_grad_(True)
    start = time.perf_counter()
    fn(x).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)  # one thread: stable on a shared machine, the same for both layers
    torch.manual_seed(0)
    lstm = nn.LSTM(C, C, batch_first=True)
    attn = MultiHeadAttention(C, HEADS)
    run_lstm = lambda x: lstm(x)[0]                 # noqa: E731
    run_attn = lambda x: attn(x, is_causal=True)    # noqa: E731
    load_before = load_average()
    rows, data = ["| T | LSTM (ms) | Self-attention (ms) | LSTM / attention | Sequential steps, LSTM : attention |",
                  "|---:|---:|---:|---:|---:|"], []
    for T in LENGTHS:
        x = torch.randn(B, T, C)
        fwd_bwd_seconds(run_lstm, x), fwd_bwd_seconds(run_attn, x)  # warm-up
        pairs = [(fwd_bwd_seconds(run_lstm, x), fwd_bwd_seconds(run_attn, x)) for _ in range(REPEATS)]
        ratio = statistics.median(a / b for a, b in pairs)
        t_lstm = statistics.median(a for a, _ in pairs) * 1e3
        t_attn = statistics.median(b for _, b in pairs) * 1e3
        data.append({"T": T, "lstm_ms": t_lstm, "attention_ms": t_attn, "ratio": ratio})
        rows.append(f"| {T} | {t_lstm:.1f} | {t_attn:.1f} | **{ratio:.1f}x** | {T} : 1 |")
        print(rows[-1], flush=True)
    load_after = load_average()
    rows += ["", f"Batch {B}, width {C}, one layer each, forward and backward; attention with {HEADS} "
             f"heads and a causal mask. Median of {REPEATS} interleaved pairs. {machine()}; load "
             f"average {load_before} before and {load_after} after (shared machine: above 2, the "
             f"cores were oversubscribed and times are inflated for both)."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rnn_depth.json").write_text(json.dumps(
        {"rows": data, "load_before": load_before, "load_after": load_after,
         "machine": machine()}, indent=1) + "\n")
    write_markdown("rnn_depth.md", rows)


if __name__ == "__main__":
    main()
