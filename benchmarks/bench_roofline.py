"""Prefill and decode of GPT-2 small's shape on this machine's roofline.

The machine: its peak float32 matrix-product rate (the best of several 2048 x 2048 products,
snippets.training.accounting.matmul_peak) and its read bandwidth (a reduction over a 1 GiB
tensor, bench_generation's measurement). Our points: prefill of one prompt at several lengths, and
one cached decoding step at several batch sizes after 128 cached positions, each timed (median
of repeats) and placed at the arithmetic intensity that snippets.inference.roofline counts.
Why batching helps decode, measured: tokens per second at batch B over batch 1, the median of
interleaved pairs. Random weights (nothing downloaded), one thread throughout: the peak, the
bandwidth and the passes are all one core's, and a shared machine's other jobs cannot stall a
second thread that the first waits for.
Writes results/roofline.json and results/roofline.md (the prefill-and-decode page shows them).
"""

import json

import torch

from benchmarks.bench_generation import bandwidth_gb_s
from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, median_seconds, write_markdown
from snippets.inference.roofline import forward_cost, roofline
from snippets.layers.attention import KVCache
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.accounting import matmul_peak

GPT2_SMALL = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)
PROMPTS = (8, 32, 128, 512)
BATCHES = (1, 4, 16, 64)
PAST = 128          # cached positions before each timed decoding step
STEPS = 4           # decoding steps per timed run
PAIRS = 3


def prefill_run(model: GPT, T: int):
    idx = torch.randint(0, GPT2_SMALL.vocab_size, (1, T), generator=torch.Generator().manual_seed(T))
    return lambda: model.logits(idx, model.new_caches(1), last_only=True)


def decode_run(model: GPT, batch: int):
    """STEPS cached steps at batch B after PAST random cached positions (their values do not
    change the time); the caches are rewound after each run so every run sees the same length."""
    c = GPT2_SMALL
    caches = [KVCache(batch, c.n_heads, PAST + STEPS, c.d_model // c.n_heads) for _ in range(c.n_layers)]
    for cache in caches:
        cache.k.normal_()
        cache.v.normal_()
    idx = torch.zeros(batch, 1, dtype=torch.long)

    def run() -> None:
        for cache in caches:
            cache.length = PAST
        for _ in range(STEPS):
            model.logits(idx, caches)

    return run


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = GPT(GPT2_SMALL).eval()
    watch = LoadWatch()
    with torch.inference_mode():
        peak = matmul_peak(n=2048, repeats=20)  # the best of many: a busy core only slows it
        bandwidth = bandwidth_gb_s() * 1e9
        print(f"peak {peak / 1e9:.1f} GFLOP/s, bandwidth {bandwidth / 1e9:.1f} GB/s", flush=True)
        points = []
        for T in PROMPTS:
            cost = forward_cost(GPT2_SMALL, 1, T)
            seconds = median_seconds(prefill_run(model, T), 3)
            points.append({"phase": "prefill", "batch": 1, "tokens": T, "seconds": seconds,
                           "flops": cost.flops, "bytes": cost.bytes, "intensity": cost.intensity,
                           "flops_per_s": cost.flops / seconds, "tokens_per_s": T / seconds})
            print(f"prefill T={T}: {cost.flops / seconds / 1e9:.1f} GFLOP/s", flush=True)
        one = decode_run(model, 1)
        for B in BATCHES:
            cost = forward_cost(GPT2_SMALL, B, 1, PAST)
            run = decode_run(model, B)
            seconds = median_seconds(run, 3) / STEPS
            point = {"phase": "decode", "batch": B, "tokens": B, "seconds": seconds,
                     "flops": cost.flops, "bytes": cost.bytes, "intensity": cost.intensity,
                     "flops_per_s": cost.flops / seconds, "tokens_per_s": B / seconds}
            if B > 1:  # tokens/s at B over batch 1: B x (time of a batch-1 run / time at B)
                pairs = interleaved(one, run, PAIRS)
                point |= {"speedup_vs_batch_1": B * pairs.ratio, "pairs": pairs.as_dict()}
            points.append(point)
            print(f"decode B={B}: {cost.flops / seconds / 1e9:.1f} GFLOP/s, "
                  f"{B / seconds:.1f} tokens/s", flush=True)
    watch.stop()
    record = {"peak_flops": peak, "bandwidth_bytes_per_s": bandwidth, "ridge": peak / bandwidth,
              "past": PAST, "points": points, "parameters": model.num_parameters(),
              "load": watch.as_dict(), "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "roofline.json").write_text(json.dumps(record, indent=1) + "\n")
    write_markdown("roofline.md", markdown(record))


def markdown(r: dict) -> list[str]:
    lines = ["| Pass | Positions | FLOP per byte | Time (ms) | Achieved GFLOP/s | Roof (GFLOP/s) "
             "| Share of roof | Tokens/s | Over batch 1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in r["points"]:
        roof = roofline(p["intensity"], r["peak_flops"], r["bandwidth_bytes_per_s"])
        what = f"prefill, prompt {p['tokens']}" if p["phase"] == "prefill" else f"decode, batch {p['batch']}"
        ratio = f"**{p['speedup_vs_batch_1']:.1f}x**" if "speedup_vs_batch_1" in p else ""
        lines.append(f"| {what} | {p['tokens']} | {p['intensity']:.1f} | {1e3 * p['seconds']:,.1f} "
                     f"| {p['flops_per_s'] / 1e9:.1f} | {roof / 1e9:.1f} | {p['flops_per_s'] / roof:.0%} "
                     f"| {p['tokens_per_s']:,.1f} | {ratio} |")
    busy = ", measured on a busy machine (shared with other jobs)" if r["load"]["busy"] else ""
    lines += ["", f"GPT-2 small's shape ({r['parameters'] / 1e6:.0f}M parameters, float32, random "
              f"weights). This machine: peak {r['peak_flops'] / 1e9:.1f} GFLOP/s (the best of 20 products of 2048 × 2048 "
              f"float32 matrices), bandwidth {r['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s (a reduction "
              f"over 1 GiB); the ridge, where the two roofs meet, is at {r['ridge']:.1f} FLOP per byte. "
              f"Prefill: one prompt, median of 3. Decode: one cached step after {r['past']} positions, "
              f"median of 3 runs of {STEPS} steps. FLOPs and bytes as snippets/inference/roofline.py "
              f"counts them (weights, KV cache; not activations). Over batch 1: tokens per second at "
              f"batch B over batch 1, the median of {PAIRS} interleaved pairs{busy}. "
              f"{r['machine']}. {r['load_line']}"]
    return lines


if __name__ == "__main__":
    main()
