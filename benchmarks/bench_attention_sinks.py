"""Attention sinks and StreamingLLM on a model trained here (chapter 3, section 3.9).

The llama-shakespeare model (RoPE, 4 layers, width 128) trains on tiny Shakespeare at context 64
with the library's loop, as in bench_rope_extension. Then it reads 48 validation streams of 256
characters, four times its trained length, one token at a time, under five caches:

- full: every past key (dense attention; positions run past the trained 64);
- window: a rolling cache of the last W = 32 positions (snippets.layers.window_cache);
- window + sinks: the first 4 positions kept too, numbered inside the cache (StreamingLLM);
- window + sinks, absolute: the same keys at their positions in the text (distances to the
  sinks grow past 64);
- recompute: the last W tokens read afresh at positions 0..W-1 for every prediction.

The loss at each position is averaged over the streams, median over the seeds. Also measured:
the attention weight that queries at positions 32-63 give to position 0, per layer, against
the 1/(t+1) of uniform attention: the "sink" the paper observes in large models.

BENCH_STEPS (default 600) and BENCH_SEEDS (default 3) shorten or lengthen the run.
Writes results/attention_sinks.{json,md}.
"""

import json
import math
import os
import statistics

import torch
import torch.nn.functional as F

from benchmarks.bench_rope_extension import model_config
from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from benchmarks.shakespeare import characters
from snippets.models.llama import Llama
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

STEPS = int(os.environ.get("BENCH_STEPS", 600))
SEEDS = int(os.environ.get("BENCH_SEEDS", 3))
TRAINED, LENGTH, STREAMS, WINDOW, SINKS = 64, 256, 48, 32, 4
CACHES = ("full", "window", "sinks", "sinks_absolute", "recompute")
BANDS = ((0, 32), (32, 64), (64, 128), (128, 256))


@torch.no_grad()
def stream_losses(model: Llama, windows: torch.Tensor, cache: str) -> torch.Tensor:
    """Cross-entropy (N, LENGTH) of each stream read token by token under one cache scheme."""
    x, y = windows[:, :LENGTH], windows[:, 1:LENGTH + 1]
    if cache == "full":  # one pass: the same numbers as a cache that keeps everything
        return F.cross_entropy(model.logits(x).transpose(1, 2), y, reduction="none")
    if cache == "recompute":
        logits = [model.logits(x[:, max(0, t - WINDOW + 1):t + 1], last_only=True)[:, -1]
                  for t in range(LENGTH)]
    else:
        caches = {"window": lambda: model.rolling_caches(window=WINDOW),
                  "sinks": lambda: model.rolling_caches(window=WINDOW, sinks=SINKS, positions="cache"),
                  "sinks_absolute": lambda: model.rolling_caches(window=WINDOW, sinks=SINKS)}[cache]()
        logits = [model.logits(x[:, t:t + 1], caches)[:, -1] for t in range(LENGTH)]
    return F.cross_entropy(torch.stack(logits, 2), y, reduction="none")      # (N, LENGTH)


@torch.no_grad()
def weight_on_first(model: Llama, windows: torch.Tensor) -> list[float]:
    """Mean attention weight on position 0 from queries at positions 32..63, per layer
    (all heads), computed from each block's own normalised input and projections."""
    captured = []
    hooks = [b.attn.register_forward_pre_hook(lambda m, args, kw: captured.append(args[0]),
                                              with_kwargs=True) for b in model.blocks]
    model.logits(windows[:, :TRAINED])
    for h in hooks:
        h.remove()
    weights = []
    for block, h in zip(model.blocks, captured, strict=True):
        attn = block.attn
        q = model.rotary(attn.split_heads(attn.q_proj(h), attn.n_heads), 0)       # (N, H, T, D)
        k = model.rotary(attn.split_heads(attn.k_proj(h), attn.n_kv_heads), 0)    # (N, H_kv, T, D)
        k = k.repeat_interleave(attn.n_heads // attn.n_kv_heads, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(attn.d_head)                 # (N, H, T, T)
        causal = torch.ones(TRAINED, TRAINED, dtype=torch.bool).tril()
        p = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        weights.append(p[:, :, 32:64, 0].mean().item())
    return weights


def run(seed: int, data: tuple[torch.Tensor, torch.Tensor], vocab_size: int) -> dict:
    train_data, val_data = data
    config = TrainConfig(batch_size=16, max_steps=STEPS, lr=4e-3, min_lr=4e-4,
                         warmup_steps=min(50, STEPS), eval_interval=STEPS, eval_iters=5, seed=seed)
    state = TrainState.fresh(seed)
    model = Llama(model_config(vocab_size, TRAINED))
    train(model, make_optimizer(model, config), train_data, val_data, config, state)
    reader = Llama(model_config(vocab_size, LENGTH)).eval()  # RoPE: the same weights read any length
    reader.load_state_dict(model.state_dict())
    starts = torch.linspace(0, len(val_data) - LENGTH - 2, STREAMS).long()
    windows = torch.stack([val_data[s:s + LENGTH + 1] for s in starts])        # (N, 257)
    curves = {cache: stream_losses(reader, windows, cache).mean(0).tolist() for cache in CACHES}
    return {"seed": seed, "steps": state.step, "curves": curves,
            "weight_on_first": weight_on_first(reader, windows)}


def main() -> None:
    torch.set_num_threads(1)
    data, vocab_size = characters()
    watch = LoadWatch()
    runs = []
    for seed in range(SEEDS):
        runs.append(run(seed, data, vocab_size))
        print(seed, {k: round(sum(v[64:]) / len(v[64:]), 3) for k, v in runs[-1]["curves"].items()},
              [round(w, 3) for w in runs[-1]["weight_on_first"]], flush=True)
    watch.stop()
    median = {cache: [statistics.median(r["curves"][cache][i] for r in runs) for i in range(LENGTH)]
              for cache in CACHES}
    bands = {cache: {f"{lo}-{hi}": statistics.fmean(curve[lo:hi]) for lo, hi in BANDS}
             for cache, curve in median.items()}
    sink_weight = [statistics.median(r["weight_on_first"][layer] for r in runs)
                   for layer in range(len(runs[0]["weight_on_first"]))]
    uniform = statistics.fmean(1 / (t + 1) for t in range(32, 64))
    out = {"steps": STEPS, "seeds": SEEDS, "trained_length": TRAINED, "length": LENGTH,
           "streams": STREAMS, "window": WINDOW, "sinks": SINKS, "median_curves": median,
           "bands": bands, "weight_on_first": sink_weight, "uniform_weight": uniform,
           "runs": runs, **watch.as_dict(), "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "attention_sinks.json").write_text(json.dumps(out) + "\n")
    write_markdown("attention_sinks.md", table(out))


NAMES = {"full": "full cache (dense)", "window": f"window of {WINDOW}",
         "sinks": f"window + {SINKS} sinks (StreamingLLM)",
         "sinks_absolute": f"window + {SINKS} sinks, text positions",
         "recompute": f"recompute the last {WINDOW}"}


def table(data: dict) -> list[str]:
    b = data["bands"]
    rows = ["| Cache | keys kept | positions 0-31 | 32-63 | 64-127 | 128-255 |",
            "|---|---:|---:|---:|---:|---:|"]
    kept = {"full": "all", "window": str(WINDOW), "sinks": str(WINDOW + SINKS),
            "sinks_absolute": str(WINDOW + SINKS), "recompute": str(WINDOW)}
    for cache in CACHES:
        rows.append(f"| {NAMES[cache]} | {kept[cache]} | "
                    + " | ".join(f"{b[cache][f'{lo}-{hi}']:.3f}" for lo, hi in BANDS) + " |")
    weights = ", ".join(f"{w:.3f}" for w in data["weight_on_first"])
    rows += ["", f"Validation loss in nats per character, mean over {data['streams']} streams of "
             f"{data['length']} characters and over each band of positions, median over "
             f"{data['seeds']} seeds; trained {data['steps']} steps at {data['trained_length']} "
             f"positions. Attention weight on position 0 from queries at 32-63, layers 1 to "
             f"{len(data['weight_on_first'])}: {weights} (uniform attention: "
             f"{data['uniform_weight']:.3f}). [^attention-sinks-run]", "",
             f"[^attention-sinks-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
