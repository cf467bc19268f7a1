"""Generation with a KV cache against recomputing the whole prefix at every step.

4 layers, width 128, context 256, a one-token prompt and 255 new tokens (greedy), at batches
1, 2, 4 and 8. Prints tokens per second for both and their ratio, measured in one run on this
machine, and writes them to results/kv_cache.md, which the GPT chapter includes. At batch 1 a
model this small is dominated by per-operation overhead on a CPU, which both paths pay once
per step; a batch amortises it, so the cache's saving shows in full.
"""

import time

import torch

from benchmarks.report import load_average, machine, write_markdown

from snippets.models.gpt import GPT, GPTConfig


def timed_generate(model: GPT, prompt: torch.Tensor, new_tokens: int, use_cache: bool,
                   repeats: int = 2) -> tuple[float, torch.Tensor]:
    """Best wall time of `repeats` greedy runs, and the tokens they produced."""
    model.generate(prompt, 8, temperature=0.0, use_cache=use_cache)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = model.generate(prompt, new_tokens, temperature=0.0, use_cache=use_cache)
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=65, context_length=256, n_layers=4, n_heads=4, d_model=128)
    model = GPT(config).eval()
    new_tokens = config.context_length - 1
    load_before = load_average()
    rows = ["| Batch | Recompute (tokens/s) | KV cache (tokens/s) | Speed-up | Same tokens |",
            "|---:|---:|---:|---:|:---:|"]
    for batch in (1, 2, 4, 8):
        prompt = torch.randint(0, config.vocab_size, (batch, 1))
        slow, slow_out = timed_generate(model, prompt, new_tokens, use_cache=False)
        fast, fast_out = timed_generate(model, prompt, new_tokens, use_cache=True)
        same = "yes" if torch.equal(slow_out, fast_out) else "NO"
        recompute, cached = batch * new_tokens / slow, batch * new_tokens / fast
        rows.append(f"| {batch} | {recompute:,.0f} | {cached:,.0f} | **{cached / recompute:.2f}x** "
                    f"| {same} |")
        print(rows[-1], flush=True)
    rows += ["", f"{config.n_layers} layers, width {config.d_model}, context "
             f"{config.context_length}, {new_tokens} new tokens from a one-token prompt, greedy; "
             f"best of 2 runs. {machine()}; load average {load_before} before the run."]
    write_markdown("kv_cache.md", rows)


if __name__ == "__main__":
    main()
