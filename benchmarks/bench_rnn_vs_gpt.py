"""Same time budget, two architectures (chapter 1): a character-level LSTM and the library's
GPT of about the same size, trained on tiny Shakespeare for the same number of seconds.

Both use the library's training loop (AdamW, clipping at norm 1, the same batch, context and
data order), each in its own process with one thread, both at once. The budget is counted in
CPU seconds of each process (time.process_time), which equals wall time on an idle machine
with a core per process and stays fair when the machine is shared with other jobs; wall time
is recorded too. Validation loss is measured every EVAL steps on the same batches; the final
figure uses 100 validation batches. Writes results/rnn_vs_gpt.{json,md}.
"""

import json
import math
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.gpt import GPT, GPTConfig
from snippets.models.rnn_lm import CharLSTM, CharLSTMConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.training.loop import TrainConfig, TrainState, evaluate, make_optimizer, train
from snippets.training.text_data import train_val_split

BUDGET_S, CONTEXT, BATCH, LR, EVAL = 90.0, 64, 16, 3e-3, 25


def run(kind: str) -> dict:
    torch.set_num_threads(1)
    text = tiny_shakespeare()
    tok = CharTokenizer.train(text)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    train_data, val_data = train_val_split(ids, 0.1)
    config = TrainConfig(batch_size=BATCH, max_steps=100_000, lr=LR, min_lr=LR / 10, warmup_steps=50,
                         eval_interval=EVAL, eval_iters=10)
    state = TrainState.fresh(config.seed)
    if kind == "gpt":  # the 4-layer preset shakespeare-char
        model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=CONTEXT, n_layers=4,
                              n_heads=4, d_model=128, bias=False, activation="gelu"))
    else:
        model = CharLSTM(CharLSTMConfig(vocab_size=tok.vocab_size, context_length=CONTEXT,
                                        d_embed=64, hidden=256, n_layers=2))
    optimizer = make_optimizer(model, config)
    start, cpu_start = time.perf_counter(), time.process_time()
    curve = []

    def on_eval(row: dict) -> bool:
        cpu = time.process_time() - cpu_start
        curve.append({"step": row["step"], "seconds": round(cpu, 1),
                      "wall_s": round(row["time"] - start, 1),
                      "val_bpc": row["val_loss"] / math.log(2)})
        return cpu >= BUDGET_S

    train(model, optimizer, train_data, val_data, config, state, on_eval=on_eval)
    final = evaluate(model, val_data, BATCH, CONTEXT, iters=100, seed=4321) / math.log(2)
    return {"kind": kind, "parameters": sum(p.numel() for p in model.parameters()),
            "steps": state.step, "seconds": curve[-1]["seconds"], "wall_s": curve[-1]["wall_s"],
            "final_val_bpc": final,
            "curve": curve}


def main() -> None:
    load_before = load_average()
    with ProcessPoolExecutor(2) as pool:
        lstm, gpt = pool.map(run, ["lstm", "gpt"])
    load_after = load_average()
    data = {"budget_s": BUDGET_S, "lstm": lstm, "gpt": gpt, "load_before": load_before,
            "load_after": load_after, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rnn_vs_gpt.json").write_text(json.dumps(data, indent=1) + "\n")
    write_markdown("rnn_vs_gpt.md", table(data))


def table(data: dict) -> list[str]:
    """The results table, with the run's bookkeeping in one footnote."""
    lstm, gpt = data["lstm"], data["gpt"]
    rows = ["| Model | Parameters | Steps in the budget | Tokens seen | Validation bits per character |",
            "|---|---:|---:|---:|---:|"]
    for name, r in (("2-layer LSTM, width 256", lstm), ("GPT, 4 layers, width 128", gpt)):
        rows.append(f"| {name} | {r['parameters']:,} | {r['steps']:,} | "
                    f"{r['steps'] * BATCH * CONTEXT:,} | **{r['final_val_bpc']:.3f}** |")
    rows += ["", f"Budget {data['budget_s']:.0f} CPU seconds each (evaluations included, checked "
             f"every {EVAL} steps), batch {BATCH}, context {CONTEXT}, AdamW at {LR} after 50 warm-up "
             f"steps, clipping at norm 1; each model in its own process with one thread, both at "
             f"once. [^rnn-vs-gpt-run]", "",
             f"[^rnn-vs-gpt-run]: Wall time {lstm['wall_s']:.0f} s (LSTM) and {gpt['wall_s']:.0f} s "
             f"(GPT). {data['machine']}; load average {data['load_before']} before, "
             f"{data['load_after']} after (above 2 the cores were shared with other jobs)."]
    return rows


if __name__ == "__main__":
    main()
