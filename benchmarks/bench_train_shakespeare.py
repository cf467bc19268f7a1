"""Tiny Shakespeare, character level: our trainer against nanoGPT's published CPU recipe.

Three measurements in one run, written to results/train_shakespeare.{json,md}:
1. The reference configuration (4 layers, 4 heads, width 128, context 64, batch 12, 2000
   steps, lr 1e-3 -> 1e-4 with 100 warm-up steps, dropout 0, no biases, 90/10 split):
   validation loss, ms per step, training tokens per second, wall time.
2. Time to target: our faster recipe (preset shakespeare-fast) evaluated every 50 steps,
   stopped at the first validation loss <= 1.88; wall time against the reference's.
3. Generation from the trained model with and without the KV cache (tokens per second).
The reference numbers are the issue's measurement of nanoGPT on this machine (not our code).
"""

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from snippets.__main__ import PRESETS
from snippets.char_tokenizer import CharTokenizer
from snippets.corpus import tiny_shakespeare
from snippets.gpt import GPT, GPTConfig
from snippets.text_data import train_val_split
from snippets.training import TrainConfig, TrainState, evaluate, make_optimizer, train

RESULTS = Path(__file__).resolve().parent.parent / "results"
REFERENCE = {"val_loss": 1.886, "ms_per_step": 46.0, "tokens_per_s": 16600.0, "wall_s": 140.0}
TARGET = 1.88
FINAL_EVAL_ITERS = 200  # 200 x 12 x 64 = 153,600 validation tokens: a steadier estimate


def run(preset: str, text: str, target: float | None = None, **overrides) -> dict:
    """Train one preset; returns losses, timings and the model."""
    model_kw, train_kw = PRESETS[preset]
    config = TrainConfig(**{**train_kw, **overrides})
    tok = CharTokenizer.train(text)
    train_data, val_data = train_val_split(torch.tensor(tok.encode(text)), 0.1)
    state = TrainState.fresh(config.seed)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, **model_kw))
    optimizer = make_optimizer(model, config)
    T = model.config.context_length
    step_time = 0.0
    last = [time.perf_counter()]

    def on_step(step: int, loss: float, lr: float) -> None:
        nonlocal step_time
        now = time.perf_counter()
        step_time += now - last[0]
        last[0] = now

    def on_eval(row: dict) -> bool:
        last[0] = time.perf_counter()  # evaluation time is not step time
        return target is not None and row["val_loss"] <= target

    start = time.perf_counter()
    last[0] = start
    train(model, optimizer, train_data, val_data, config, state, on_step=on_step, on_eval=on_eval)
    wall = time.perf_counter() - start
    steps = state.step
    final = evaluate(model, val_data, 12, T, FINAL_EVAL_ITERS, seed=12345)
    return {"preset": preset, "config": asdict(config), "steps": steps, "wall_s": wall,
            "ms_per_step": 1000 * step_time / steps,
            "tokens_per_s": steps * config.batch_size * T / step_time,
            "val_loss_last_eval": state.history[-1]["val_loss"], "val_loss_final": final,
            "history": [{k: r[k] for k in ("step", "train_loss", "val_loss")} | {"t": r["time"] - start}
                        for r in state.history], "model": model, "tokenizer": tok}


def generation_speed(model: GPT, new_tokens: int = 500) -> dict:
    model.eval()
    prompt = torch.zeros(1, 1, dtype=torch.long)
    out = {}
    for use_cache in (True, False):
        model.generate(prompt, 16, use_cache=use_cache)  # warm-up
        g = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        model.generate(prompt, new_tokens, generator=g, use_cache=use_cache)
        out["cache" if use_cache else "no_cache"] = new_tokens / (time.perf_counter() - start)
    out["speedup"] = out["cache"] / out["no_cache"]
    return out


def markdown(r: dict) -> str:
    ref, base, fast, gen = r["reference"], r["baseline"], r["fast"], r["generation"]
    m = r["machine"]
    rows = [
        "| Run | Steps | Batch | Val loss | ms / step | Train tokens / s | Wall time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| nanoGPT CPU recipe (reference, issue's measurement) | 2000 | 12 | {ref['val_loss']:.3f} "
        f"| {ref['ms_per_step']:.0f} | {ref['tokens_per_s']:,.0f} | {ref['wall_s']:.0f} |",
        f"| ours, same recipe | {base['steps']} | 12 | {base['val_loss_final']:.3f} "
        f"| {base['ms_per_step']:.1f} | {base['tokens_per_s']:,.0f} | {base['wall_s']:.1f} |",
        f"| ours, `shakespeare-fast` to val ≤ {TARGET} | {fast['steps']} | "
        f"{fast['config']['batch_size']} | {fast['val_loss_final']:.3f} | {fast['ms_per_step']:.1f} "
        f"| {fast['tokens_per_s']:,.0f} | {fast['wall_s']:.1f} |",
        "",
        f"Throughput, ours / reference: **{base['tokens_per_s'] / ref['tokens_per_s']:.2f}x**. "
        f"Time to validation loss {TARGET}: **{fast['wall_s']:.1f} s**, "
        f"{100 * fast['wall_s'] / ref['wall_s']:.0f}% of the reference's {ref['wall_s']:.0f} s "
        f"(reached: {fast['val_loss_last_eval'] <= TARGET}). "
        f"Generation, batch 1, 500 tokens: {gen['cache']:.0f} tokens/s with the KV cache, "
        f"{gen['no_cache']:.0f} without ({gen['speedup']:.2f}x).",
        "",
        f"Validation losses are the mean over {FINAL_EVAL_ITERS} fixed batches of 12 x 64 tokens. "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} torch threads; Python "
        f"{m['python']}, torch {m['torch']}; load average {m['load_before']} before and "
        f"{m['load_after']} after (other jobs shared the cores).",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    text = tiny_shakespeare()
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    base = run("shakespeare-char", text)
    print(f"reference recipe: val {base['val_loss_final']:.4f}, {base['ms_per_step']:.1f} ms/step, "
          f"{base['tokens_per_s']:,.0f} tok/s, {base['wall_s']:.1f} s", flush=True)
    fast = run("shakespeare-fast", text, target=TARGET, eval_interval=50, eval_iters=10)
    print(f"fast recipe: {fast['steps']} steps, last eval {fast['val_loss_last_eval']:.4f}, final "
          f"{fast['val_loss_final']:.4f}, {fast['wall_s']:.1f} s", flush=True)
    gen = generation_speed(base["model"])
    print(f"generation: {gen['cache']:.0f} tok/s cached, {gen['no_cache']:.0f} uncached, "
          f"{gen['speedup']:.2f}x", flush=True)
    result = {
        "reference": REFERENCE, "target": TARGET,
        "baseline": {k: v for k, v in base.items() if k not in ("model", "tokenizer")},
        "fast": {k: v for k, v in fast.items() if k not in ("model", "tokenizer")},
        "generation": gen,
        "ratios": {"throughput_vs_reference": base["tokens_per_s"] / REFERENCE["tokens_per_s"],
                   "time_to_target_vs_reference_wall": fast["wall_s"] / REFERENCE["wall_s"]},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "load_before": load_before,
                    "load_after": " / ".join(f"{x:.2f}" for x in os.getloadavg())},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_shakespeare.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "train_shakespeare.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    sys.exit(main())
