"""Raw bytes against characters and byte-level BPE at equal training compute, in bits per byte;
then the byte model as BLT's entropy model: patch boundaries on a held-out sentence.

Three arms train chapter 9's GPT (4 layers, 4 heads, width 64) with the library's loop on the
same 90% of tiny Shakespeare and are scored on the same last 10%:

- characters (V = 65) and raw UTF-8 bytes (V = 256), 128 positions a window. Tiny Shakespeare
  is ASCII, so the two streams are the same sequence of integers under two numberings: the arms
  differ only in the vocabulary (191 byte rows that never occur), which the run confirms;
- byte-level BPE (V = 512, merges learned on the training part), with as many tokens a window
  as cover 128 bytes on average (bytes per token measured on the training part).

Fairness: equal bytes of context (about 128 a window), equal batch (16 windows), and equal
training FLOPs: the byte arm trains for STEPS steps and each other arm for as many steps as the
same FLOPs buy, counted by snippets.training.accounting.matmul_flops_per_token (weights, head
and the T x T products), so BPE's shorter windows let it see more text. A fourth arm trains BPE
for the byte arm's STEPS steps: as many bytes seen, for about half the FLOPs. Same recipe
otherwise (AdamW 3e-3, 50 warm-up steps, cosine to 3e-4, the same seed).

Score: every held-out token predicted once, in consecutive windows of T tokens (the first token
of the text is context only); bits per byte = total nats / (ln 2 x UTF-8 bytes of the held-out
text), the same denominator for every arm.

Then the byte model gives the entropy of its next-byte prediction on 20,000 held-out bytes, to
set BLT's two thresholds so that patches average TARGET_PATCH bytes there, and on one sentence,
whose entropies, thresholds and patch starts are stored for the page and its figure.

BENCH_STEPS (default 1000) shortens or lengthens the run. Writes results/bytes_vs_bpe.{json,md}.
"""

import json
import math
import os
import time

import torch

from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.byte_patching import (global_starts, monotonic_starts,
                                               next_byte_entropy)
from snippets.tokenizers.char import CharTokenizer
from snippets.training.accounting import matmul_flops_per_token
from snippets.training.corpus import tiny_shakespeare
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

STEPS = int(os.environ.get("BENCH_STEPS", 1000))
BYTES_PER_WINDOW, BATCH, BPE_VOCAB = 128, 16, 512
MODEL = dict(n_layers=4, n_heads=4, d_model=64)
TARGET_PATCH = 4.0          # mean bytes a patch on held-out text, for both thresholds
ENTROPY_BYTES = 20_000      # held-out bytes that set the thresholds
SENTENCE = "Romeo, come forth; come forth, thou fearful man:"


class ByteTokenizer:
    """Raw UTF-8 bytes as ids 0-255: no training, no unknown input."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))


@torch.no_grad()
def held_out_nats(model: GPT, ids: torch.Tensor) -> float:
    """Total nats of every token after the first, in consecutive windows of T tokens."""
    T = model.config.context_length
    model.eval()
    total = 0.0
    for start in range(0, len(ids) - 1, 64 * T):  # 64 windows a forward pass
        chunk = ids[start:start + 64 * T + 1]
        n = (len(chunk) - 1) // T * T
        if n:
            x, y = chunk[:n].view(-1, T), chunk[1:n + 1].view(-1, T)   # (windows, T)
            logits = model(x)[0]
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        if len(chunk) - 1 > n:  # the last, shorter window
            x, y = chunk[n:-1][None], chunk[n + 1:][None]
            logits = model(x)[0]
            total += torch.nn.functional.cross_entropy(logits[0], y[0], reduction="sum").item()
    return total


def run_arm(tokenizer, train_text: str, val_text: str, T: int, steps: int) -> tuple[dict, GPT]:
    train_ids = torch.tensor(tokenizer.encode(train_text))
    val_ids = torch.tensor(tokenizer.encode(val_text))
    config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=T, **MODEL)
    recipe = TrainConfig(batch_size=BATCH, max_steps=steps, lr=3e-3, min_lr=3e-4, warmup_steps=min(50, steps),
                         eval_interval=steps, eval_iters=1, seed=1337)
    state = TrainState.fresh(recipe.seed)
    model = GPT(config)
    cpu, wall = time.process_time(), time.perf_counter()
    train(model, make_optimizer(model, recipe), train_ids, val_ids, recipe, state)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    nats = held_out_nats(model, val_ids)
    n_bytes = len(val_text.encode("utf-8"))
    flops_step = matmul_flops_per_token(config) * T * BATCH
    return {"V": tokenizer.vocab_size, "T": T, "steps": steps,
            "parameters": model.num_parameters(),
            "bytes_per_token": n_bytes / len(val_ids),
            "window_bytes": T * n_bytes / len(val_ids),
            "train_bytes_seen": steps * BATCH * T * len(train_text.encode()) / len(train_ids),
            "flops_per_step": flops_step, "train_flops": flops_step * steps,
            "flops_per_byte": matmul_flops_per_token(config) * len(val_ids) / n_bytes,
            "held_out_tokens": len(val_ids), "held_out_bytes": n_bytes,
            "nats_per_token": nats / (len(val_ids) - 1),
            "bits_per_byte": nats / (math.log(2) * n_bytes),
            "cpu_s": cpu, "wall_s": wall}, model


@torch.no_grad()
def entropies_of(model: GPT, data: bytes) -> list[float]:
    """Next-byte entropy (bits) of each byte of data after a newline, in consecutive windows of
    T bytes (the context starts afresh at each window)."""
    T = model.config.context_length
    ids = torch.tensor(list(b"\n" + data))
    out: list[float] = []
    for start in range(0, len(data), T):  # byte t is predicted from the T bytes up to it
        x = ids[start:min(start + T, len(data))]
        out += next_byte_entropy(model(x[None])[0][0]).tolist()
    return out


def threshold_for(values: list[float], rate: float) -> float:
    """The value that rate of the values exceed: a patch starts at about that rate of bytes."""
    ranked = sorted(values, reverse=True)
    k = int(rate * len(ranked))
    return (ranked[k - 1] + ranked[k]) / 2


def table(data: dict) -> list[str]:
    rows = ["| Tokens | V | Context (tokens) | Bytes per token | Steps | Training FLOPs "
            "| Training bytes seen | FLOPs per byte | Bits per byte |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in data["arms"].items():
        rows.append(f"| {name} | {r['V']} | {r['T']} | {r['bytes_per_token']:.2f} "
                    f"| {r['steps']:,} | {r['train_flops']:.2e} "
                    f"| {r['train_bytes_seen'] / 1e6:.2f} M "
                    f"| {r['flops_per_byte'] / 1e6:.2f} M | **{r['bits_per_byte']:.3f}** |")
    p = data["patching"]
    sizes = sorted(r["parameters"] for r in data["arms"].values())
    rows += ["", f"Same model shape ({MODEL['n_layers']} layers, {MODEL['n_heads']} heads, width "
             f"{MODEL['d_model']}; {sizes[0]:,} to {sizes[-1]:,} parameters, the vocabulary "
             f"rows making the difference), batch {BATCH} windows of about {BYTES_PER_WINDOW} "
             f"bytes; equal "
             f"training FLOPs (matrix products counted) but for the last row, which trains as many "
             f"steps as the byte model, so it sees as many bytes for half the FLOPs; held-out: "
             f"the last 10% of tiny Shakespeare, {data['arms']['bytes']['held_out_bytes']:,} bytes, "
             f"each token predicted once. Characters and bytes give the same sequence on this ASCII "
             f"text. Entropy patching with the byte model, thresholds set for "
             f"{TARGET_PATCH:g} bytes a patch on {ENTROPY_BYTES:,} held-out bytes: global "
             f"θ = {p['global_threshold']:.2f} bits, monotonic θ = {p['monotonic_threshold']:.2f} bits. "
             f"{data['machine']}; {data['load']}"]
    return rows


def main() -> None:
    text = tiny_shakespeare()
    cut = int(len(text) * 0.9)
    train_text, val_text = text[:cut], text[cut:]
    if not text.isascii():
        raise ValueError("this benchmark's char = byte reading assumes ASCII text")
    watch = LoadWatch()
    arms: dict[str, dict] = {}
    models: dict[str, GPT] = {}
    bpe = ByteLevelBPE.train(train_text, BPE_VOCAB)
    bpe_T = round(BYTES_PER_WINDOW * len(bpe.encode(train_text)) / len(train_text.encode()))
    budget = matmul_flops_per_token(GPTConfig(vocab_size=256, context_length=BYTES_PER_WINDOW,
                                              **MODEL)) * BYTES_PER_WINDOW * BATCH * STEPS
    for name, tokenizer, T, equal in (
            ("characters", CharTokenizer.train(text), BYTES_PER_WINDOW, "flops"),
            ("bytes", ByteTokenizer(), BYTES_PER_WINDOW, "flops"),
            (f"byte-level BPE, V = {BPE_VOCAB}", bpe, bpe_T, "flops"),
            (f"byte-level BPE, V = {BPE_VOCAB}, bytes' steps", bpe, bpe_T, "steps")):
        config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=T, **MODEL)
        steps = (STEPS if equal == "steps" else
                 round(budget / (matmul_flops_per_token(config) * T * BATCH)))
        arms[name], models[name] = run_arm(tokenizer, train_text, val_text, T, steps)
        print(name, arms[name], flush=True)
    byte_model = models["bytes"]
    held = val_text.encode()[:ENTROPY_BYTES]
    h = entropies_of(byte_model, held)
    rises = [b - a for a, b in zip(h, h[1:])]
    g, m = threshold_for(h, 1 / TARGET_PATCH), threshold_for(rises, 1 / TARGET_PATCH)
    sentence = SENTENCE.encode()
    hs = entropies_of(byte_model, sentence)
    patching = {"sentence": SENTENCE, "entropies_bits": hs,
                "global_threshold": g, "monotonic_threshold": m,
                "global_starts": global_starts(hs, g), "monotonic_starts": monotonic_starts(hs, m),
                "held_out_mean_patch": {"global": len(h) / len(global_starts(h, g)),
                                        "monotonic": len(h) / len(monotonic_starts(h, m))},
                "held_out_mean_entropy_bits": sum(h) / len(h), "target_patch": TARGET_PATCH}
    watch.stop()
    data = {"arms": arms, "patching": patching, "model": MODEL, "batch": BATCH,
            "bytes_per_window": BYTES_PER_WINDOW, "steps_bytes": STEPS,
            "machine": machine(), "load": watch.line(), "load_watch": watch.as_dict(),
            "cpu_s_total": sum(a["cpu_s"] for a in arms.values())}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bytes_vs_bpe.json").write_text(json.dumps(data, indent=1) + "\n")
    write_markdown("bytes_vs_bpe.md", table(data))


if __name__ == "__main__":
    main()
