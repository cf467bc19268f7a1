"""Mini-BERT pre-trained with MLM on 34 Shakespeare plays for five minutes of CPU time;
held-out masked-token accuracy and loss against the most-frequent-token and unigram
baselines; and the failure mode: the same model at a high learning rate with no warm-up,
which sits on the unigram plateau.

Writes results/bert_mlm.json (the figure reads it) and results/bert_mlm.md (the page includes it);
saves the trained model's weights to the cache directory for bench_bert_finetune.
"""

import json
import os

import torch

from benchmarks.bert_common import (HELD_OUT, baselines, evaluate_mlm, load_play_data, mini_config,
                                    sequences, train_mlm)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertForMaskedLM
from snippets.training.corpus import cache_dir

BUDGET_S = float(os.environ.get("BERT_MLM_SECONDS", 300))
RUNS = {  # name: (learning rate, warm-up steps, share of the budget)
    "warm-up 100 steps, peak lr 1e-3": (1e-3, 100, 1.0),
    "no warm-up, lr 3e-3 (failure mode)": (3e-3, 0, 0.5),
}


def main() -> None:
    torch.set_num_threads(1)   # on a shared machine two threads spin against other jobs
    load_before = load_average()
    data = load_play_data()
    train_names = [n for n in data.play_ids if n not in HELD_OUT]
    train_ids, test_ids = sequences(data, train_names), sequences(data, list(HELD_OUT))
    base = baselines(train_ids, test_ids, data)
    results = {"baselines": base, "runs": {}, "held_out_plays": list(HELD_OUT),
               "train_sequences": len(train_ids), "test_sequences": len(test_ids),
               "vocab_size": len(data.tokenizer.itos)}
    for name, (lr, warmup, share) in RUNS.items():
        torch.manual_seed(0)
        model = BertForMaskedLM(mini_config(len(data.tokenizer.itos)))
        run = train_mlm(model, train_ids, test_ids, data, seconds=BUDGET_S * share, lr=lr, warmup=warmup)
        run["final_test_loss"], run["final_test_acc"] = evaluate_mlm(model, test_ids, data)
        run["parameters"] = sum(p.numel() for p in model.parameters())
        results["runs"][name] = run
        if warmup:
            torch.save({"state": model.state_dict(), "vocab": data.tokenizer.itos},
                       cache_dir() / "bert_mini_mlm.pt")
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
    p = next(iter(results["runs"].values()))["parameters"]
    rows += ["", f"Mini-BERT: 2 layers, width 128, 4 heads, FFN 512, {p:,} parameters; sequences of 64 "
             f"WordPiece ids; batch 32; 15% masking with 80/10/10; {results['train_sequences']:,} training "
             f"sequences from 34 plays, {results['test_sequences']:,} held-out sequences from "
             f"{', '.join(HELD_OUT)}. Budget {BUDGET_S:.0f} s of wall-clock time for the first run, "
             f"half that for the second. {machine()}; load average {load_before} before, {load_after} after"
             + (" — above the 2 cores: the machine was shared, so the step counts are lower than an "
                "idle machine would reach." if float(load_before.split(' / ')[0]) > 2 else ".")]
    write_markdown("bert_mlm.md", rows)


if __name__ == "__main__":
    main()
