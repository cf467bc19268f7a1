"""Mini-BERT pre-trained with MLM on 34 Shakespeare plays for five minutes of CPU time
(warm-up, constant lr, then a linear decay to zero over the last 30% of the CPU budget);
held-out masked-token accuracy and loss against the most-frequent-token and unigram
baselines; and the failure mode: the same model at a high learning rate with no warm-up,
which sits on the unigram plateau, with two controls that each change one of those two settings.

The vocabulary is trained by our chapter-6 WordPiece trainer on the training plays
(benchmarks/bert_common.py). Writes results/bert_mlm.json (the figure reads it) and
results/bert_mlm.md (the page includes it); saves the trained model, its config and its
vocabulary to <cache>/bert_mini_mlm.pt (bert_common.load_mini_bert reads it) for
bench_bert_nsp_sop and bench_bert_finetune.
"""

import json
import os

import torch

from benchmarks.bert_common import (HELD_OUT, SEQ_LEN, baselines, evaluate_mlm, load_play_data, mini_config,
                                    save_mini_bert, sequences, train_mlm)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertForMaskedLM

BUDGET_S = float(os.environ.get("BERT_MLM_SECONDS", 300))   # CPU seconds
THREADS = 1          # one torch thread per run: two spin against each other on a shared 2-core machine
BATCH = 32
TRAIN_RATE = 0.15    # the share of positions masked in training (held-out evaluation always masks 15%)
GOAL = 2.5           # held-out masked accuracy against always guessing the most frequent piece
DECAY_SHARE = 0.3    # the last 30% of the CPU budget decays the lr linearly to zero
RUNS = {  # name: (peak learning rate, warm-up steps, share of the budget, share of it that decays)
    "warm-up 100 steps, lr 1e-3, decay to 0 over the last 30%": (1e-3, 100, 1.0, DECAY_SHARE),
    "no warm-up, constant lr 3e-3 (failure mode)": (3e-3, 0, 0.2, 0.0),
    # controls, one change each from the failure run: which of its two settings keeps it on the plateau?
    "control: no warm-up, constant lr 1e-3": (1e-3, 0, 0.2, 0.0),
    "control: warm-up 100 steps, constant lr 3e-3": (3e-3, 100, 0.2, 0.0),
}


def pieces_per_word(data, ids: torch.Tensor) -> float:
    """Ordinary pieces per word: every piece without the ## prefix starts a word."""
    ordinary = ids[~torch.isin(ids, torch.tensor(data.special_ids()))]
    starts = torch.tensor([not p.startswith("##") for p in data.tokenizer.itos])
    return len(ordinary) / int(starts[ordinary].sum())


def main() -> None:
    torch.set_num_threads(THREADS)
    load_before = load_average()
    data = load_play_data()
    train_names = [n for n in data.play_ids if n not in HELD_OUT]
    train_ids, test_ids = sequences(data, train_names), sequences(data, list(HELD_OUT))
    base = baselines(train_ids, test_ids, data)
    results = {"baselines": base, "runs": {}, "held_out_plays": list(HELD_OUT), "batch": BATCH,
               "train_mask_rate": TRAIN_RATE,
               "train_sequences": len(train_ids), "test_sequences": len(test_ids),
               "vocab_size": len(data.tokenizer.itos), "goal_ratio": GOAL,
               "pieces_per_word": pieces_per_word(data, test_ids)}
    for name, (lr, warmup, share, decay_share) in RUNS.items():
        torch.manual_seed(0)
        model = BertForMaskedLM(mini_config(len(data.tokenizer.itos)))
        run = train_mlm(model, train_ids, test_ids, data, seconds=BUDGET_S * share, lr=lr, warmup=warmup,
                        batch=BATCH, rate=TRAIN_RATE, decay_share=decay_share)
        run["final_test_loss"], run["final_test_acc"] = evaluate_mlm(model, test_ids, data)
        run["parameters"] = sum(p.numel() for p in model.parameters())
        results["runs"][name] = run
        if name == next(iter(RUNS)):   # the full run is the checkpoint the other benchmarks start from
            save_mini_bert(model, data.tokenizer)
        print(name, run["steps"], run["final_test_loss"], run["final_test_acc"], flush=True)
    load_after = load_average()
    results["load_before"], results["load_after"], results["machine"] = load_before, load_after, machine()
    (RESULTS / "bert_mlm.json").write_text(json.dumps(results, indent=1))
    rows = ["| Model | Steps | Held-out loss (nats) | Held-out masked accuracy | × most-frequent |",
            "|:---|---:|---:|---:|---:|",
            f"| uniform over {results['vocab_size']:,} pieces | 0 | {base['uniform_loss']:.2f} | "
            f"{1 / results['vocab_size']:.2%} | |",
            f"| unigram distribution (sampled) | 0 | {base['unigram_loss']:.2f} | "
            f"{base['unigram_sampled_acc']:.2%} | |",
            f"| always \"{base['most_frequent_token']}\" | 0 | | {base['most_frequent_acc']:.2%} | 1.0 |"]
    for name, run in results["runs"].items():
        rows.append(f"| mini-BERT, {name} | {run['steps']:,} | {run['final_test_loss']:.2f} | "
                    f"{run['final_test_acc']:.2%} | {run['final_test_acc'] / base['most_frequent_acc']:.1f} |")
    first = next(iter(results["runs"].values()))
    ratio = first["final_test_acc"] / base["most_frequent_acc"]
    cfg = mini_config(results["vocab_size"])
    rows += ["", f"Goal: at least {GOAL}× the most-frequent guess within {BUDGET_S:.0f} s of CPU time: "
             f"{ratio:.1f}×, {'met' if ratio >= GOAL else 'not met'}. "
             f"Mini-BERT: {cfg.n_layers} layers, width {cfg.d_model}, {cfg.n_heads} heads, FFN {cfg.d_ff}, "
             f"{first['parameters']:,} parameters, float32; sequences of {SEQ_LEN} WordPiece ids from a "
             f"{results['vocab_size']:,}-piece vocabulary that our WordPiece trainer learned from the training plays "
             f"({results['pieces_per_word']:.2f} pieces per word on the held-out plays); "
             f"batch {BATCH}; AdamW (betas 0.9, 0.98, weight decay 0.01); the first run's lr warms up for 100 steps, "
             f"stays at 1e-3, and decays linearly to zero over the last {DECAY_SHARE:.0%} of the CPU budget (the "
             f"budget is time, so the schedule follows CPU seconds, not steps); "
             f"{TRAIN_RATE:.0%} of positions masked in training, 15% in evaluation, 80/10/10; "
             f"the output layer applied at the masked positions only; "
             f"{results['train_sequences']:,} training sequences from 34 plays, {results['test_sequences']:,} "
             f"held-out sequences from {', '.join(HELD_OUT)}. Budget {BUDGET_S:.0f} s of CPU time (one torch thread: "
             f"the wall-clock time of an idle machine) for the first run, "
             f"each other run a fifth of it with a constant lr (the controls change one setting each of the failure run); the first took {first['wall_seconds']:.0f} s of wall-clock time here. {machine()}; "
             f"load average {load_before} before, "
             f"{load_after} after" + (" — above the 2 cores: the machine was shared, so the wall-clock time was "
                                      "longer than the CPU budget." if max(float(load_before.split(' / ')[0]),
                                                                                float(load_after.split(' / ')[0])) > 2 else ".")]
    write_markdown("bert_mlm.md", rows)


if __name__ == "__main__":
    main()
