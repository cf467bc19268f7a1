"""The fixed-vector bottleneck of a recurrent encoder-decoder, measured (chapter 1).

Two GRU encoder-decoders of the same size (snippets/models/recurrent_seq2seq.py, with torch's
fused nn.GRU / nn.GRUCell, which the tests prove equal to the library's cells), one with a
single context vector, one with Bahdanau's additive attention, trained on reversing random
digit strings of lengths 5-25 with the same steps, seed, batch and optimiser. Each trains in
its own process with one thread, both at once (2 cores). Every CHECK steps both are scored on
held-out strings of length 20 and 30, which gives the learning curves; at the end,
exact-sequence and per-token accuracy at lengths 5-40 (past the training lengths), and the
attention weights of one length-20 example. A third model, without attention and with a
forward-only encoder, is the control for where the errors fall. At length POS_LEN each model's
accuracy is also taken per output position, decoding freely (reading its own previous token)
and teacher-forced (reading the true one). Writes results/rnn_bottleneck.{json,md} and
results/rnn_bottleneck_positions.md.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.recurrent_seq2seq import (RecurrentSeq2SeqConfig, position_accuracy,
                                               reverse_accuracy, train_reverse_rnn)
from snippets.models.seq2seq import reverse_batch

STEPS, BATCH, MIN_LEN, MAX_LEN, LR, SEED, CHECK = 600, 128, 5, 25, 3e-3, 0, 50
EVAL_LENGTHS = [5, 10, 15, 20, 25, 30, 35, 40]
POS_LEN = 15
MODELS = {"plain": (False, True), "attention": (True, True), "plain_forward": (False, False)}


def run(key: str) -> dict:
    torch.set_num_threads(1)
    attention, bidirectional = MODELS[key]
    cfg = RecurrentSeq2SeqConfig(attention=attention, bidirectional=bidirectional,
                                 impl="torch")  # fused GRU kernels: faster
    curve, clock = [], {"train": 0.0, "last": time.perf_counter()}

    def on_step(step: int, loss: float, model) -> None:
        clock["train"] += time.perf_counter() - clock["last"]
        if step % CHECK == 0:
            e20, t20 = reverse_accuracy(model, 20, n=100)
            e30, t30 = reverse_accuracy(model, 30, n=100)
            curve.append({"step": step, "train_s": round(clock["train"], 1), "loss": loss,
                          "exact20": e20, "token20": t20, "exact30": e30, "token30": t30})
            print(f"attention={attention} {curve[-1]}", flush=True)
        clock["last"] = time.perf_counter()

    model = train_reverse_rnn(cfg, STEPS, batch=BATCH, min_len=MIN_LEN, max_len=MAX_LEN, lr=LR,
                              seed=SEED, on_step=on_step)
    by_length = []
    for length in EVAL_LENGTHS:
        exact, token = reverse_accuracy(model, length, n=300)
        by_length.append({"length": length, "exact": exact, "token": token})
    positions = {}
    for mode, forced in (("free", False), ("forced", True)):
        exact, token = reverse_accuracy(model, POS_LEN, n=300, teacher_forced=forced)
        positions[mode] = {"exact": exact, "token": token,
                           "by_position": position_accuracy(model, POS_LEN, n=300,
                                                            teacher_forced=forced)}
    example = {}
    if attention:
        src, _, tgt_out = reverse_batch(1, 20, 20, torch.Generator().manual_seed(7))
        pred, weights = model.greedy(src, 21)
        example = {"src": (src[0] - 3).tolist(), "pred": (pred[0] - 3).tolist(),
                   "weights": [[round(w, 4) for w in row] for row in weights[0].tolist()]}
    return {"attention": attention, "bidirectional": bidirectional,
            "train_s": round(clock["train"], 1), "positions": positions,
            "parameters": sum(p.numel() for p in model.parameters()),
            "curve": curve, "by_length": by_length, "example": example}


def main() -> None:
    load_before = load_average()
    with ProcessPoolExecutor(len(MODELS)) as pool:
        plain, attn, forward = pool.map(run, list(MODELS))
    load_after = load_average()
    data = {"steps": STEPS, "batch": BATCH, "train_lengths": [MIN_LEN, MAX_LEN], "lr": LR,
            "position_length": POS_LEN, "plain": plain, "attention": attn,
            "plain_forward": forward, "load_before": load_before,
            "load_after": load_after, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rnn_bottleneck.json").write_text(json.dumps(data, indent=1) + "\n")
    rows = ["| Length | Exact, one vector | Exact, attention | Token, one vector | Token, attention |",
            "|---:|---:|---:|---:|---:|"]
    for p, a in zip(plain["by_length"], attn["by_length"]):
        mark = " (longer than training)" if p["length"] > MAX_LEN else ""
        rows.append(f"| {p['length']}{mark} | {p['exact']:.3f} | {a['exact']:.3f} | "
                    f"{p['token']:.3f} | {a['token']:.3f} |")
    rows += ["", f"{STEPS} steps of batch {BATCH} (lengths {MIN_LEN}-{MAX_LEN}), Adam lr {LR}, "
             f"clipping at norm 1, seed {SEED}; {plain['parameters']:,} parameters without attention, "
             f"{attn['parameters']:,} with; greedy decoding of 300 held-out strings per length. "
             f"[^bottleneck-run]", "",
             f"[^bottleneck-run]: Training time (evaluations excluded): {plain['train_s']:.0f} s "
             f"without attention, {attn['train_s']:.0f} s with, each model in its own process "
             f"with one thread, all at once. {machine()}; load average {load_before} before, "
             f"{load_after} after (above 2 the cores were shared with other jobs)."]
    write_markdown("rnn_bottleneck.md", rows)
    write_markdown("rnn_bottleneck_positions.md", position_rows(data))


def position_rows(data: dict) -> list[str]:
    """Per-position accuracy at length POS_LEN: free-running and teacher-forced, three models."""
    models = [("plain", "One vector"), ("plain_forward", "Forward-only"), ("attention", "Attention")]
    head = " | ".join(f"{label}, {mode}" for _, label in models for mode in ("free", "forced"))
    rows = [f"| Output (source) position | {head} |", "|---|" + "---:|" * 6]
    n_out = POS_LEN + 1
    for i in range(n_out):
        where = f"{i + 1} ({POS_LEN - i})" if i < POS_LEN else f"{i + 1} (EOS)"
        cells = " | ".join(f"{data[k]['positions'][m]['by_position'][i]:.3f}"
                           for k, _ in models for m in ("free", "forced"))
        rows.append(f"| {where} | {cells} |")
    for stat, name in (("token", "all tokens"), ("exact", "whole string")):
        cells = " | ".join(f"{data[k]['positions'][m][stat]:.3f}"
                           for k, _ in models for m in ("free", "forced"))
        rows.append(f"| **{name}** | {cells} |")
    rows += ["", f"Length {POS_LEN}, the same 300 held-out strings for every cell. Free: each "
             "step reads the model's own previous output (greedy decoding). Forced: each step "
             "reads the true previous digit. Forward-only: one vector, encoder without the backward GRU "
             f"({data['plain_forward']['parameters']:,} parameters); otherwise the same training."]
    return rows


if __name__ == "__main__":
    main()
