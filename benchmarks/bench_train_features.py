"""The trainer's scale features on this CPU: torch.compile, bfloat16 autocast, activation
checkpointing, and the model FLOPs utilisation of the chapter's model.

The model is the shakespeare-char preset's (4 layers, 4 heads, width 128, context 64) at its
batch of 12, on tiny Shakespeare; one step = forward, backward, clipping, AdamW.
- compile: the losses of compiled (inductor) steps against eager steps from the same weights
  and batches; the compile time (the first compiled step minus an eager one), measured with an
  empty compile cache; step times as the median of interleaved pairs; the number of steps after
  which compiling has paid for itself.
- bfloat16 and checkpointing: step-time ratios against float32 eager, interleaved pairs.
- MFU: model FLOPs per second (Kaplan's 6N + 6 L T C per token) over this machine's measured
  matrix-product peak in the same dtype.
The memory that checkpointing saves is counted exactly on the chapter's page, not timed here.
Writes results/train_features.json and .md.
"""

import json
import os
import statistics
import tempfile
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, write_markdown
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.accounting import flops_per_token, matmul_peak, mfu
from snippets.training.activation_checkpointing import checkpoint_blocks
from snippets.training.corpus import tiny_shakespeare
from snippets.training.loop import TrainConfig, make_optimizer, train_step
from snippets.training.text_data import get_batch

PAIRS = 3
STEPS = 10  # per timed run
BATCH = 12
LOSS_TOLERANCE = 1e-3  # float32: fused kernels sum in another order (see the chapter's page)


def make_arm(config: GPTConfig, *, compile_: bool = False, checkpoint: bool = False,
             dtype: torch.dtype = torch.float32):
    """A fresh model and optimiser from seed 0, and a function that trains on given batches."""
    torch.manual_seed(0)
    model = GPT(config)
    if checkpoint:
        checkpoint_blocks(model)
    optimizer = make_optimizer(model, TrainConfig())
    runner = torch.compile(model) if compile_ else model

    def run(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[float]:
        return [train_step(runner, optimizer, x, y, 1e-3, 1.0, dtype=dtype)[0] for x, y in batches]
    return run


def main() -> None:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp()  # a cold compile, as a new run has
    tok = CharTokenizer.train(text := tiny_shakespeare())
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    config = GPTConfig(vocab_size=tok.vocab_size, context_length=64, n_layers=4, n_heads=4,
                       d_model=128, bias=False, activation="gelu")
    g = torch.Generator().manual_seed(0)
    batches = [get_batch(data, BATCH, config.context_length, g) for _ in range(STEPS + 1)]
    tokens = STEPS * BATCH * config.context_length
    watch = LoadWatch()
    record: dict = {"config": {"n_layers": 4, "d_model": 128, "context_length": 64,
                               "batch": BATCH, "steps": STEPS}}

    # compile: equal losses, compile time, steady-state speed
    eager, compiled = make_arm(config), make_arm(config, compile_=True)
    start = time.perf_counter()
    first_eager = eager(batches[:1])
    eager_step = time.perf_counter() - start
    start = time.perf_counter()
    first_compiled = compiled(batches[:1])
    compile_s = time.perf_counter() - start - eager_step
    losses_eager = first_eager + eager(batches[1:])
    losses_compiled = first_compiled + compiled(batches[1:])
    worst = max(abs(a - b) for a, b in zip(losses_eager, losses_compiled, strict=True))
    pairs = interleaved(lambda: eager(batches[1:]), lambda: compiled(batches[1:]), PAIRS)
    saved_per_step = (pairs.median_a - pairs.median_b) / STEPS
    record["compile"] = pairs.as_dict() | {
        "compile_s": compile_s, "max_abs_loss_difference": worst, "tolerance": LOSS_TOLERANCE,
        "within_tolerance": worst <= LOSS_TOLERANCE,
        "break_even_steps": compile_s / saved_per_step if saved_per_step > 0 else None}
    print("compile", record["compile"], flush=True)

    # bfloat16 autocast and activation checkpointing, each against float32 eager
    for name, arm in (("bfloat16", make_arm(config, dtype=torch.bfloat16)),
                      ("checkpointing", make_arm(config, checkpoint=True))):
        arm(batches[:1])
        record[name] = interleaved(lambda: eager(batches[1:]), lambda: arm(batches[1:]),
                                   PAIRS).as_dict()
        print(name, record[name], flush=True)

    # MFU of the eager float32 and bfloat16 steps
    peaks = {name: matmul_peak(dtype=dtype)
             for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16))}
    per_token = flops_per_token(config)
    record["mfu"] = {
        "flops_per_token": per_token, "peak_flops": peaks,
        "float32": mfu(per_token, tokens / pairs.median_a, peaks["float32"]),
        "bfloat16": mfu(per_token, tokens / statistics.median(record["bfloat16"]["b_s"]),
                        peaks["bfloat16"])}
    watch.stop()
    record |= {"load": watch.as_dict(), "machine": machine()}
    (RESULTS / "train_features.json").write_text(json.dumps(record, indent=1) + "\n")

    c = record["compile"]
    rows = ["| Feature | Eager float32 step | With the feature | Speed-up (median of pairs) |",
            "|---|---:|---:|---:|"]
    for name, key in (("torch.compile (inductor)", "compile"), ("bfloat16 autocast", "bfloat16"),
                      ("activation checkpointing", "checkpointing")):
        r = record[key]
        rows.append(f"| {name} | {1000 * statistics.median(r['a_s']) / STEPS:.0f} ms | "
                    f"{1000 * statistics.median(r['b_s']) / STEPS:.0f} ms | "
                    f"**{r['ratio_median']:.2f}x** |")
    even = c["break_even_steps"]
    rows += ["", f"Compiling took {c['compile_s']:.0f} s with an empty cache; "
             + (f"at the measured saving per step it pays for itself after {even:,.0f} steps. "
                if even else "the compiled step was not faster, so it never paid for itself. ")
             + f"Largest loss difference over {STEPS + 1} steps, compiled against eager: "
             f"{c['max_abs_loss_difference']:.1e} (tolerance {LOSS_TOLERANCE:g}). MFU of the "
             f"eager steps: {record['mfu']['float32']:.1%} of the float32 matmul peak "
             f"({peaks['float32'] / 1e9:.0f} GFLOP/s), {record['mfu']['bfloat16']:.1%} of the "
             f"bfloat16 peak ({peaks['bfloat16'] / 1e9:.0f} GFLOP/s).", "",
             f"4 layers, width 128, context 64, batch {BATCH}, {STEPS} steps a timed run, "
             f"{PAIRS} interleaved pairs (every time is in results/train_features.json). "
             f"{machine()}. {watch.line()}"]
    write_markdown("train_features.md", rows)


if __name__ == "__main__":
    main()
