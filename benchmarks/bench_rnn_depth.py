"""Sequential depth: one LSTM layer against one self-attention layer of the same width (chapter 1).

Forward plus backward wall time of nn.LSTM(C, C) (torch's fused kernels, the fastest LSTM at
hand; ours is proven equal to it) and of the attention chapter's MultiHeadAttention(C, 4),
causal, at batch 8 and width 128, against the sequence length T. The LSTM needs T dependent
steps; attention needs one step whose work grows as T^2. One torch thread; 5 interleaved
pairs (the order alternating). The ratio column is the ratio of the two medians, so it agrees
with the time columns; the range of the per-pair ratios shows the spread.
Writes results/rnn_depth.{json,md}.
"""

import json

import torch
from torch import nn

from benchmarks.report import RESULTS, interleaved, load_average, machine, write_markdown
from snippets.layers.attention import MultiHeadAttention

B, C, HEADS, REPEATS = 8, 128, 4, 5
LENGTHS = [32, 64, 128, 256, 512, 1024]


def fwd_bwd(fn, x: torch.Tensor) -> None:
    fn(x.detach().requires_grad_(True)).sum().backward()


def main() -> None:
    torch.set_num_threads(1)  # one thread: stable on a shared machine, the same for both layers
    torch.manual_seed(0)
    lstm = nn.LSTM(C, C, batch_first=True)
    attn = MultiHeadAttention(C, HEADS)
    run_lstm = lambda x: lstm(x)[0]                 # noqa: E731
    run_attn = lambda x: attn(x, is_causal=True)    # noqa: E731
    load_before = load_average()
    rows, data = ["| T | LSTM (ms) | Self-attention (ms) | LSTM / attention | Per-pair range | "
                  "Sequential steps, LSTM : attention |", "|---:|---:|---:|---:|---:|---:|"], []
    for T in LENGTHS:
        x = torch.randn(B, T, C)
        fwd_bwd(run_lstm, x), fwd_bwd(run_attn, x)  # warm-up
        pairs = interleaved(lambda: fwd_bwd(run_lstm, x), lambda: fwd_bwd(run_attn, x), REPEATS)
        t_lstm, t_attn = pairs.median_a * 1e3, pairs.median_b * 1e3
        per_pair = [a / b for a, b in zip(pairs.a, pairs.b)]
        data.append({"T": T, "lstm_ms": t_lstm, "attention_ms": t_attn,
                     "ratio_of_medians": t_lstm / t_attn, **pairs.as_dict()})
        rows.append(f"| {T} | {t_lstm:.1f} | {t_attn:.1f} | **{t_lstm / t_attn:.2f}x** | "
                    f"{min(per_pair):.2f}-{max(per_pair):.2f} | {T} : 1 |")
        print(rows[-1], flush=True)
    load_after = load_average()
    rows += ["", f"Batch {B}, width {C}, one layer each, forward and backward; attention with {HEADS} "
             f"heads and a causal mask. Medians of {REPEATS} interleaved pairs; the ratio is the ratio "
             f"of the medians, the range that of the single pairs. [^depth-run]", "",
             f"[^depth-run]: {machine()}; load average {load_before} before, {load_after} after "
             f"(above 2 the cores were shared with other jobs, which inflates both times)."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rnn_depth.json").write_text(json.dumps(
        {"rows": data, "load_before": load_before, "load_after": load_after,
         "machine": machine()}, indent=1) + "\n")
    write_markdown("rnn_depth.md", rows)


if __name__ == "__main__":
    main()
