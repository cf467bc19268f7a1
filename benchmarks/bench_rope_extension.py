"""A Llama trained at 64 positions, read at 128 and 256 under each RoPE extension (chapter 3).

The llama-shakespeare model (RoPE with base 10,000, head width 32) trains on tiny Shakespeare
at context 64 with the library's loop, then reads the same validation windows at 64, 128 and
256 positions with plain RoPE and with each recipe of snippets.layers.rope_scaling at
factor = length / 64, with no fine-tuning at the new length. The figure is the loss at each
position, averaged over the windows, median over the seeds; a recipe that extends well keeps
the loss of positions beyond 64 at or below that of the first 64.

BENCH_STEPS (default 600) and BENCH_SEEDS (default 3) shorten or lengthen the run.
Writes results/rope_extension.{json,md}.
"""

import json
import os
import statistics

import torch
import torch.nn.functional as F

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from benchmarks.shakespeare import characters
from snippets.layers.positional import RotaryEmbedding
from snippets.layers.rope_scaling import rope_frequencies, scaled_frequencies
from snippets.models.llama import Llama, LlamaConfig
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

STEPS = int(os.environ.get("BENCH_STEPS", 600))
SEEDS = int(os.environ.get("BENCH_SEEDS", 3))
TRAINED, LENGTHS, WINDOWS = 64, (64, 128, 256), 48
RECIPES = ("none", "linear", "ntk", "yarn", "llama3")


def model_config(vocab_size: int, context: int) -> LlamaConfig:  # the llama-shakespeare preset
    return LlamaConfig(vocab_size=vocab_size, context_length=context, n_layers=4, n_heads=4,
                       n_kv_heads=2, d_model=128, d_ff=384)


def rotary(recipe: str, length: int, d_head: int) -> RotaryEmbedding:
    if recipe == "none" or length == TRAINED:
        return RotaryEmbedding(d_head, theta=rope_frequencies(d_head))
    scaling = {"type": recipe, "factor": length / TRAINED}
    if recipe in ("yarn", "llama3"):
        scaling["trained_length"] = TRAINED
    theta, factor = scaled_frequencies(d_head, 10000.0, scaling)
    return RotaryEmbedding(d_head, theta=theta, attention_factor=factor)


@torch.no_grad()
def loss_by_position(model: Llama, windows: torch.Tensor, length: int) -> list[float]:
    """Cross-entropy at each of `length` positions, averaged over the windows."""
    x, y = windows[:, :length], windows[:, 1:length + 1]
    logits = model.logits(x)                                            # (N, L, V)
    losses = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")  # (N, L)
    return losses.mean(0).tolist()


def run(seed: int, data: tuple[torch.Tensor, torch.Tensor], vocab_size: int) -> dict:
    train_data, val_data = data
    config = TrainConfig(batch_size=16, max_steps=STEPS, lr=4e-3, min_lr=4e-4, warmup_steps=min(50, STEPS),
                         eval_interval=STEPS, eval_iters=5, seed=seed)
    state = TrainState.fresh(seed)
    model = Llama(model_config(vocab_size, TRAINED))
    train(model, make_optimizer(model, config), train_data, val_data, config, state)
    # RoPE has no table: the same weights read any length
    reader = Llama(model_config(vocab_size, max(LENGTHS))).eval()
    reader.load_state_dict(model.state_dict())
    starts = torch.linspace(0, len(val_data) - max(LENGTHS) - 2, WINDOWS).long()
    windows = torch.stack([val_data[s:s + max(LENGTHS) + 1] for s in starts])  # (N, 257)
    d_head = reader.config.d_model // reader.config.n_heads
    curves = {}
    for recipe in RECIPES:
        for length in LENGTHS:
            if length == TRAINED and recipe != "none":
                continue
            reader.rotary = rotary(recipe, length, d_head)
            curves[f"{recipe}@{length}"] = loss_by_position(reader, windows, length)
    return {"seed": seed, "steps": state.step, "curves": curves}


def main() -> None:
    torch.set_num_threads(1)
    data, vocab_size = characters()
    watch = LoadWatch()
    runs = []
    for seed in range(SEEDS):
        runs.append(run(seed, data, vocab_size))
        print(seed, {k: round(sum(v) / len(v), 3) for k, v in runs[-1]["curves"].items()}, flush=True)
    watch.stop()
    median = {key: [statistics.median(r["curves"][key][i] for r in runs)
                    for i in range(len(runs[0]["curves"][key]))] for key in runs[0]["curves"]}
    bands = {key: {f"{lo}-{hi}": statistics.fmean(curve[lo:hi])
                   for lo, hi in ((0, 64), (64, 128), (128, 256)) if hi <= len(curve)}
             for key, curve in median.items()}
    out = {"steps": STEPS, "seeds": SEEDS, "trained_length": TRAINED, "windows": WINDOWS,
           "median_curves": median, "bands": bands, "runs": runs, **watch.as_dict(),
           "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rope_extension.json").write_text(json.dumps(out) + "\n")
    write_markdown("rope_extension.md", table(out))


def table(data: dict) -> list[str]:
    names = {"none": "plain RoPE", "linear": "position interpolation", "ntk": "NTK-aware",
             "yarn": "YaRN", "llama3": "Llama 3.1"}
    b = data["bands"]
    rows = ["| Read at | RoPE | positions 0-63 | 64-127 | 128-255 |", "|---|---|---:|---:|---:|",
            f"| 64 | plain RoPE, as trained | {b['none@64']['0-64']:.3f} | | |"]
    for length in (128, 256):
        for recipe in RECIPES:
            band = b[f"{recipe}@{length}"]
            cells = [f"{band[k]:.3f}" if k in band else "" for k in ("0-64", "64-128", "128-256")]
            rows.append(f"| {length} | {names[recipe]} | " + " | ".join(cells) + " |")
    rows += ["", f"Validation loss in nats per character, mean over {data['windows']} windows and "
             f"over each band of positions, median over {data['seeds']} seeds; trained "
             f"{data['steps']} steps at {data['trained_length']} positions, no fine-tuning at the "
             f"new length. [^rope-extension-run]", "",
             f"[^rope-extension-run]: {data['machine']}. {data['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
