"""Generation with a KV cache against recomputing the whole prefix at every step.

4 layers, width 128, context 256, a one-token prompt and 255 new tokens (greedy), at batches
1, 2, 4 and 8. Prints tokens per second for both and their ratio, measured in one run on this
machine, and writes them to results/kv_cache.md, which the GPT chapter includes. At batch 1 a
model this small is dominated by per-operation overhead on a CPU, which both paths pay once
per step; a batch amortises it, so the cache's saving shows in full.
"""

import json

import torch

from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, write_markdown

from snippets.models.gpt import GPT, GPTConfig

PAIRS = 3


def main() -> None:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=65, context_length=256, n_layers=4, n_heads=4, d_model=128)
    model = GPT(config).eval()
    new_tokens = config.context_length - 1
    watch = LoadWatch()
    record: dict = {"pairs": {}}
    rows = ["| Batch | Recompute (tokens/s) | KV cache (tokens/s) | Speed-up | Same tokens |",
            "|---:|---:|---:|---:|:---:|"]
    for batch in (1, 2, 4, 8):
        prompt = torch.randint(0, config.vocab_size, (batch, 1))
        out = {}

        def recompute():
            out["recompute"] = model.generate(prompt, new_tokens, temperature=0.0, use_cache=False)

        def cached():
            out["cached"] = model.generate(prompt, new_tokens, temperature=0.0)

        model.generate(prompt, 8, temperature=0.0)  # warm-up
        pairs = interleaved(recompute, cached, PAIRS)
        same = "yes" if torch.equal(out["recompute"], out["cached"]) else "NO"
        tokens = batch * new_tokens
        record["pairs"][str(batch)] = pairs.as_dict() | {"same_tokens": same == "yes"}
        rows.append(f"| {batch} | {tokens / pairs.median_a:,.0f} | {tokens / pairs.median_b:,.0f} "
                    f"| **{pairs.ratio:.2f}x** | {same} |")
        print(rows[-1], flush=True)
    watch.stop()
    record |= {"load": watch.as_dict(), "machine": machine()}
    (RESULTS / "kv_cache.json").write_text(json.dumps(record, indent=1) + "\n")
    rows += ["", f"{config.n_layers} layers, width {config.d_model}, context "
             f"{config.context_length}, {new_tokens} new tokens from a one-token prompt, greedy; "
             f"the speed-up is the median of {PAIRS} interleaved pairs (every pair is in "
             f"results/kv_cache.json). {machine()}. {watch.line()}"]
    write_markdown("kv_cache.md", rows)


if __name__ == "__main__":
    main()
