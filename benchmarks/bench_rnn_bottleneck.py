"""The fixed-vector bottleneck of a recurrent encoder-decoder, measured (chapter 1).

Two GRU encoder-decoders of the same size (snippets/models/recurrent_seq2seq.py, with torch's
fused nn.GRU / nn.GRUCell, which the tests prove equal to the library's cells), one with a
single context vector, one with Bahdanau's additive attention, trained on reversing random
digit strings of lengths 5-25 with the same steps, seed, batch and optimiser. Each trains in
its own process with one thread, both at once (2 cores). Every CHECK steps both are scored on
held-out strings of length 20 and 30, which gives the learning curves; at the end,
exact-sequence and per-token accuracy at lengths 5-40 (past the training lengths), and the
attention weights of one length-20 example. Writes results/rnn_bottleneck.{json,md}.
"""

import json
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.recurrent_seq2seq import (RecurrentSeq2SeqConfig, reverse_accuracy,
                                               train_reverse_rnn)
from snippets.models.seq2seq import reverse_batch

STEPS, BATCH, MIN_LEN, MAX_LEN, LR, SEED, CHECK = 600, 128, 5, 25, 3e-3, 0, 50
EVAL_LENGTHS = [5, 10, 15, 20, 25, 30, 35, 40]


def run(attention: bool) -> dict:
    torch.set_num_threads(1)
    cfg = RecurrentSeq2SeqConfig(attention=attention, impl="torch")  # fused GRU kernels: faster
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
    example = {}
    if attention:
        src, _, tgt_out = reverse_batch(1, 20, 20, torch.Generator().manual_seed(7))
        pred, weights = model.greedy(src, 21)
        example = {"src": (src[0] - 3).tolist(), "pred": (pred[0] - 3).tolist(),
                   "weights": [[round(w, 4) for w in row] for row in weights[0].tolist()]}
    return {"attention": attention, "train_s": round(clock["train"], 1),
            "parameters": sum(p.numel() for p in model.parameters()),
            "curve": curve, "by_length": by_length, "example": example}


def main() -> None:
    load_before = load_average()
    with ProcessPoolExecutor(2) as pool:
        plain, attn = pool.map(run, [False, True])
    load_after = load_average()
    data = {"steps": STEPS, "batch": BATCH, "train_lengths": [MIN_LEN, MAX_LEN], "lr": LR,
            "plain": plain, "attention": attn, "load_before": load_before,
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
             f"{attn['parameters']:,} with. Training time (evaluations excluded): "
             f"{plain['train_s']:.0f} s without attention, {attn['train_s']:.0f} s with, each in its "
             f"own process with one thread, both at once. {machine()}; load average "
             f"{load_before} before and {load_after} after (a machine shared with other jobs: "
             f"above 2, the 2 cores were oversubscribed). Accuracy on 300 held-out strings per length."]
    write_markdown("rnn_bottleneck.md", rows)


if __name__ == "__main__":
    main()
