"""The trainer's scale features on this CPU: torch.compile, bfloat16 autocast, activation
checkpointing, and the model FLOPs utilisation of the chapter's model.

The model is the shakespeare-char preset's (4 layers, 4 heads, width 128, context 64) at its
batch of 12, on tiny Shakespeare, one optimiser step = forward, backward, clipping, AdamW.
- compile: the loss of 20 steps compiled (inductor) against 20 eager steps from the same
  weights and batches; the compile time (the first compiled step minus an eager one); step
  times as the median of interleaved pairs; the steps after which compiling has paid for itself.
- bfloat16 and checkpointing: step-time ratios against float32 eager, interleaved pairs.
- memory: the activations the forward keeps for the backward, and the peak of a forward and
  backward (weights, gradients, activations, temporaries), counted by torch's MemTracker
  (exact byte counts), for this model and a deeper, longer one.
- MFU: model FLOPs per second (Kaplan's 6N + 6 L T C per token) over this machine's measured
  matrix-product peak in the same dtype.
Writes results/train_features.json and .md.
"""

import copy
import json
import statistics
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, interleaved, machine, write_markdown
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.accounting import flops_per_token, matmul_peak, mfu, training_memory
from snippets.training.activation_checkpointing import checkpoint_blocks
from snippets.training.corpus import tiny_shakespeare
from snippets.training.loop import TrainConfig, make_optimizer, train_step
from snippets.training.text_data import get_batch

PAIRS = 3
STEPS = 20  # per timed run
BATCH = 12
LOSS_TOLERANCE = 1e-3  # float32, 20 steps: fused kernels sum in another order (see the page)


def make_arm(config: GPTConfig, *, compile_: bool = False, checkpoint: bool = False,
             dtype: torch.dtype = torch.float32):
    """A fresh model and optimiser from seed 0, and a function that runs `steps` steps."""
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
    peaks = {"float32": matmul_peak(dtype=torch.float32), "bfloat16": matmul_peak(dtype=torch.bfloat16)}
    per_token = flops_per_token(config)
    record["mfu"] = {
        "flops_per_token": per_token, "peak_flops": peaks,
        "float32": mfu(per_token, tokens / pairs.median_a, peaks["float32"]),
        "bfloat16": mfu(per_token, tokens / statistics.median(record["bfloat16"]["b_s"]),
                        peaks["bfloat16"])}

    # memory, counted: this model and a deeper, longer one
    record["memory"] = {}
    for label, shape, batch in (("4 layers, T 64, batch 12", config, BATCH),
                                ("12 layers, T 256, batch 8",
                                 GPTConfig(vocab_size=tok.vocab_size, context_length=256,
                                           n_layers=12, n_heads=4, d_model=128, bias=False,
                                           activation="gelu"), 8)):
        x, y = get_batch(data, batch, shape.context_length, torch.Generator().manual_seed(1))
        torch.manual_seed(0)
        plain = GPT(shape)
        wrapped = copy.deepcopy(plain)
        checkpoint_blocks(wrapped)
        record["memory"][label] = {
            arm: {"activations": m.activations, "step_peak": m.step_peak}
            for arm, m in (("plain", training_memory(plain, x, y)),
                           ("checkpointed", training_memory(wrapped, x, y)))}
    watch.stop()
    record |= {"load": watch.as_dict(), "machine": machine()}
    (RESULTS / "train_features.json").write_text(json.dumps(record, indent=1) + "\n")

    c, mem = record["compile"], record["memory"]
    rows = ["| Feature | Eager float32 step | With the feature | Speed-up (median of pairs) |",
            "|---|---:|---:|---:|"]
    for name, key in (("torch.compile (inductor)", "compile"), ("bfloat16 autocast", "bfloat16"),
                      ("activation checkpointing", "checkpointing")):
        r = record[key]
        rows.append(f"| {name} | {1000 * min(r['a_s']) / STEPS:.1f} ms | "
                    f"{1000 * min(r['b_s']) / STEPS:.1f} ms | **{r['ratio_median']:.2f}x** |")
    even = c["break_even_steps"]
    rows += ["", f"Compiling took {c['compile_s']:.0f} s; "
             + (f"it pays for itself after {even:,.0f} steps. " if even else
                "the compiled step is not faster, so it never pays for itself. ")
             + f"Largest loss difference over {STEPS} steps, compiled against eager: "
             f"{c['max_abs_loss_difference']:.1e} (tolerance {LOSS_TOLERANCE:g}). MFU of the "
             f"eager steps: {record['mfu']['float32']:.1%} of the float32 matmul peak "
             f"({peaks['float32'] / 1e9:.0f} GFLOP/s), {record['mfu']['bfloat16']:.1%} of the "
             f"bfloat16 peak ({peaks['bfloat16'] / 1e9:.0f} GFLOP/s).", "",
             "| Model | Kept by the forward: plain | checkpointed | Peak of the step: plain | "
             "checkpointed |", "|---|---:|---:|---:|---:|"]
    mib = lambda n: f"{n / 2**20:.1f} MiB"  # noqa: E731
    for label, m in mem.items():
        p, c = m["plain"], m["checkpointed"]
        rows.append(f"| {label} | {mib(p['activations'])} | {mib(c['activations'])} | "
                    f"{mib(p['step_peak'])} | {mib(c['step_peak'])} |")
    rows += ["", f"4 layers, width 128, context 64, batch {BATCH}, {STEPS} steps a timed run, "
             f"{PAIRS} interleaved pairs (every time is in results/train_features.json); "
             f"memory counted by torch's MemTracker. {machine()}. {watch.line()}"]
    write_markdown("train_features.md", rows)


if __name__ == "__main__":
    main()
