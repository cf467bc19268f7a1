"""Continuous batching over a paged KV cache against static batching, on a mixed-length trace.

The trace: 48 requests, prompts uniform in 16..256 tokens, output lengths geometric with mean 64
(as if the model ended its answer with a fixed probability at every step) capped at 256: most
answers short, a few long, as in chat traffic. Every server takes the requests in arrival order,
greedy, on the same model (a 4-layer, width-256 GPT, vocabulary 16,384, 512-token context;
random weights).
Static: batches of 8, left-padded to the longest prompt, decoding until the batch's longest
answer is done. Continuous (snippets.inference.batching.ContinuousBatcher, blocks of 16
positions), twice: at most 8 sequences with a pool of 8 full windows (the scheduling alone), and
at most 16 sequences with a pool no larger than the KV memory static batching held at its peak
(equal memory: what paging buys). Throughput: generated tokens per second, each continuous run
against static as the median of interleaved pairs; memory: KV bytes held, peak and mean over
steps. Writes results/continuous_batching.json and .md (the paged-KV page shows them).
"""

import json
import statistics

import torch

from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, write_markdown
from snippets.inference.batching import ContinuousBatcher, Request, static_batch
from snippets.models.gpt import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=16384, context_length=512, n_layers=4, n_heads=4, d_model=256)
REQUESTS, MAX_BATCH, EQUAL_MEMORY_BATCH, BLOCK = 48, 8, 16, 16
PROMPT_RANGE, MEAN_OUTPUT, MAX_OUTPUT = (16, 256), 64, 256
PAIRS = 3
GOAL = 2.0


def trace(seed: int = 0) -> list[Request]:
    g = torch.Generator().manual_seed(seed)
    lo, hi = PROMPT_RANGE
    prompts = torch.randint(lo, hi + 1, (REQUESTS,), generator=g).tolist()
    u = torch.rand(REQUESTS, generator=g, dtype=torch.float64)
    # geometric: P(length = n) = p (1 - p)^(n - 1), p = 1 / mean, by inversion
    outputs = (1 + torch.floor(torch.log(u) / torch.log1p(torch.tensor(-1 / MEAN_OUTPUT)))).long()
    outputs = outputs.clamp(max=MAX_OUTPUT).tolist()
    return [Request(torch.randint(0, CONFIG.vocab_size, (n,), generator=g).tolist(), m)
            for n, m in zip(prompts, outputs, strict=True)]


def kv_bytes(positions: float) -> float:
    return positions * CONFIG.n_layers * 2 * CONFIG.d_model * 4   # K and V, float32


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # steadier timings on a shared machine; the same for every server
    model = GPT(CONFIG).eval()
    requests = trace()
    new_tokens = sum(r.max_new_tokens for r in requests)
    outputs: dict[str, list[list[int]]] = {}
    memory: dict[str, dict] = {}

    def run_static() -> None:
        tokens, held_steps = [], []
        for i in range(0, len(requests), MAX_BATCH):
            group = requests[i:i + MAX_BATCH]
            out, positions = static_batch(model, group)
            tokens += out
            held_steps += [positions] * max(r.max_new_tokens for r in group)
        outputs["static"] = tokens
        memory["static"] = {"peak": kv_bytes(max(held_steps)), "mean": kv_bytes(statistics.fmean(held_steps)),
                            "steps": len(held_steps), "max_batch": MAX_BATCH,
                            "held_positions": held_steps}

    def continuous(name: str, max_batch: int, n_blocks: int):
        def run() -> None:
            server = ContinuousBatcher(model, n_blocks=n_blocks, block_size=BLOCK, max_batch=max_batch)
            ids = [server.submit(r) for r in requests]
            out = server.run()
            outputs[name] = [out[i] for i in ids]
            held = [BLOCK * n for n in server.blocks_held]
            memory[name] = {"peak": kv_bytes(max(held)), "mean": kv_bytes(statistics.fmean(held)),
                            "steps": len(held), "max_batch": max_batch, "pool": kv_bytes(n_blocks * BLOCK),
                            "held_positions": held}
        return run

    watch = LoadWatch()
    run_static()  # warm-up, and static's peak memory, which sizes the equal-memory pool
    same_batch = continuous("same batch", MAX_BATCH, MAX_BATCH * CONFIG.context_length // BLOCK)
    static_peak_positions = memory["static"]["peak"] / kv_bytes(1)
    equal_memory = continuous("equal memory", EQUAL_MEMORY_BATCH, int(static_peak_positions // BLOCK))
    pairs = {"same batch": interleaved(run_static, same_batch, PAIRS),
             "equal memory": interleaved(run_static, equal_memory, PAIRS)}
    watch.stop()
    static_seconds = statistics.median(pairs["same batch"].a + pairs["equal memory"].a)
    servers = {"static": {"tokens_per_s": new_tokens / static_seconds} | memory["static"]}
    for name, p in pairs.items():
        servers[name] = {"tokens_per_s": new_tokens / p.median_b, "speedup": p.ratio, "pairs": p.as_dict(),
                         "same_tokens": sum(a == b for a, b in zip(outputs["static"], outputs[name],
                                                                    strict=True))} | memory[name]
    record = {
        "requests": REQUESTS, "new_tokens": new_tokens, "block_size": BLOCK,
        "prompt_tokens": sum(len(r.prompt) for r in requests),
        "output_lengths": [r.max_new_tokens for r in requests], "servers": servers,
        "speedup": max(servers["same batch"]["speedup"], servers["equal memory"]["speedup"]),
        "goal_speedup": GOAL, "window_bytes_per_slot": kv_bytes(CONFIG.context_length),
        "kv_bytes_per_position": kv_bytes(1),
        "load": watch.as_dict(), "load_line": watch.line(), "machine": machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "continuous_batching.json").write_text(json.dumps(record, indent=1) + "\n")
    write_markdown("continuous_batching.md", markdown(record))


def markdown(r: dict) -> list[str]:
    s = r["servers"]
    labels = {"static": f"Static batching, batches of {s['static']['max_batch']}, padded",
              "same batch": f"Continuous, paged, at most {s['same batch']['max_batch']} "
                            f"(pool {s['same batch']['pool'] / 1e6:.0f} MB)",
              "equal memory": f"Continuous, paged, at most {s['equal memory']['max_batch']} "
                              f"(pool {s['equal memory']['pool'] / 1e6:.1f} MB: static's peak)"}
    lines = ["| Server | Tokens/s | Over static | Steps | KV held, peak (MB) | KV held, mean (MB) "
             "| Same tokens as static |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, label in labels.items():
        x = s[name]
        ratio = f"**{x['speedup']:.2f}x**" if "speedup" in x else ""
        same = f"{x['same_tokens']}/{r['requests']}" if "same_tokens" in x else ""
        lines.append(f"| {label} | {x['tokens_per_s']:,.1f} | {ratio} | {x['steps']} "
                     f"| {x['peak'] / 1e6:,.1f} | {x['mean'] / 1e6:,.1f} | {same} |")
    busy = " on a busy machine (shared with other jobs)" if r["load"]["busy"] else ""
    lengths = sorted(r["output_lengths"])
    lines += ["", f"{r['requests']} requests, {r['prompt_tokens']:,} prompt tokens, {r['new_tokens']:,} "
              f"generated tokens (output lengths: median {statistics.median(lengths):.0f}, longest "
              f"{lengths[-1]}); greedy, float32, one thread, on {CONFIG.n_layers} layers of width "
              f"{CONFIG.d_model}, vocabulary {CONFIG.vocab_size:,}. Over static: tokens per second, "
              f"the median of {PAIRS} interleaved pairs' ratios against static batching, measured{busy} "
              f"(tokens per second are from median times, static's over all {2 * PAIRS} of its runs, so "
              f"they need not divide to the ratio); goal ≥ "
              f"{r['goal_speedup']:.0f}x, best {r['speedup']:.2f}x. Steps: forward rounds (static: "
              f"decoding steps; continuous: scheduler steps, a prefill included). KV memory counts "
              f"the positions held (static: its batch's padded rectangle; paged: blocks of "
              f"{r['block_size']} in use), float32; a slot reserving the whole "
              f"{CONFIG.context_length}-token window would hold {r['window_bytes_per_slot'] / 1e6:.1f} MB. "
              f"{r['machine']}. {r['load_line']}"]
    return lines


if __name__ == "__main__":
    main()
