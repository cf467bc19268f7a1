"""Generation with a KV cache against recomputing the whole prefix at every step.

4 layers, width 128, context 256, a one-token prompt and 255 new tokens (greedy), at batch 1
and batch 8. Prints tokens per second for both and their ratio, measured in one run on this
machine. At batch 1 a model this small is dominated by per-operation overhead on a CPU, which
both paths pay once per step; a batch amortises it, so the cache's saving shows in full.
"""

import time

import torch

from snippets.gpt import GPT, GPTConfig


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
    print(f"threads: {torch.get_num_threads()}, {new_tokens} new tokens, context {config.context_length}")
    print(f"{'batch':>5} {'recompute tok/s':>16} {'KV cache tok/s':>15} {'speed-up':>9} {'same tokens':>12}")
    for batch in (1, 8):
        prompt = torch.randint(0, config.vocab_size, (batch, 1))
        slow, slow_out = timed_generate(model, prompt, new_tokens, use_cache=False)
        fast, fast_out = timed_generate(model, prompt, new_tokens, use_cache=True)
        same = torch.equal(slow_out, fast_out)
        recompute, cached = batch * new_tokens / slow, batch * new_tokens / fast
        print(f"{batch:>5} {recompute:>16.1f} {cached:>15.1f} {cached / recompute:>8.2f}x {same!s:>12}",
              flush=True)


if __name__ == "__main__":
    main()
