"""Fine-tuning instability over seeds: the pre-trained mini-BERT fine-tuned on bench_bert_finetune's
genre task in a few-sample setting (PER_GENRE passages per genre), SEEDS seeds per arm. A seed
fixes the head's initial weights, the training subset's batch order and any re-initialised
weights; the pre-trained weights are the same in every run. Arms, each changing one thing from the
first:

1. AdamW (bias-corrected), warm-up over the first 10% of the steps, then linear decay;
2. BertAdam: the same without bias correction (BERT's original optimiser);
3. BertAdam with no warm-up, where the missing correction's large first steps are not damped;
4. AdamW with layer-wise learning-rate decay (DECAY per layer from the top);
5. AdamW with the top block re-initialised (Zhang et al., 2021).

Reported per arm: test accuracy on the three unseen test plays (mean, standard deviation,
min-max over seeds), runs no better than always answering the majority class, runs that did not
train (final training loss above UNTRAINED), and the training loss over the first 10 and the last
20 steps. Needs bench_bert_mlm's checkpoint. Writes results/finetune_stability.{json,md}.
"""

import json
import random
import statistics
import time

import torch
import torch.nn.functional as F

from benchmarks.bench_bert_finetune import GENRES, TEST_PLAYS, VALIDATION_PLAYS, accuracy, passages
from benchmarks.bert_common import MeanPoolClassifier, load_mini_bert, load_play_data
from benchmarks.report import RESULTS, LoadWatch, machine, write_markdown
from snippets.models.bert import BertForMaskedLM
from snippets.training.stable_finetuning import BertAdam, layerwise_lr_groups, reinit_top_layers

PER_GENRE, STEPS, BATCH, LR, DECAY = 200, 150, 16, 1e-3, 0.5
SEEDS = tuple(range(6))
UNTRAINED = 1.0  # training loss still above this at the end: the uniform guess's is ln 3 = 1.099
ARMS = {  # name -> (bias correction, warm-up steps, layer-wise decay, re-initialised top blocks)
    "AdamW (bias-corrected)": (True, STEPS // 10, 1.0, 0),
    "BertAdam (no bias correction)": (False, STEPS // 10, 1.0, 0),
    "BertAdam, no warm-up": (False, 0, 1.0, 0),
    f"AdamW, layer-wise decay {DECAY}": (True, STEPS // 10, DECAY, 0),
    "AdamW, top block re-initialised": (True, STEPS // 10, 1.0, 1),
}


def finetune(arm: tuple, seed: int, pretrained: BertForMaskedLM, x, y, xt, yt, pad: int) -> dict:
    corrected, warmup, decay, reinit = arm
    mlm = BertForMaskedLM(pretrained.config)
    mlm.load_state_dict(pretrained.state_dict())
    torch.manual_seed(100 + seed)
    reinit_top_layers(mlm.bert, reinit)
    model = MeanPoolClassifier(mlm.bert, len(GENRES))
    groups = layerwise_lr_groups(model.bert, model.head, LR, decay)
    for group in groups:
        group["peak"] = group["lr"]
    opt = BertAdam(groups, lr=LR, weight_decay=0.01, bias_correction=corrected)
    g = torch.Generator().manual_seed(seed)
    start, losses = time.process_time(), []
    model.train()
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = group["peak"] * min(1.0, (step + 1) / max(1, warmup)) * (1 - step / STEPS)
        rows = torch.randint(len(x), (BATCH,), generator=g)
        loss = F.cross_entropy(model(x[rows], attention_mask=(x[rows] != pad).long()), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return {"accuracy": accuracy(model, xt, yt, pad), "first_loss": statistics.mean(losses[:10]),
            "last_loss": statistics.mean(losses[-20:]), "cpu_s": time.process_time() - start}


def main() -> None:
    torch.set_num_threads(1)
    watch = LoadWatch()
    data = load_play_data()
    pad = data.tokenizer.stoi["[PAD]"]
    train_names = [n for n, (g, _) in data.play_ids.items() if g in GENRES and n not in TEST_PLAYS + VALIDATION_PLAYS]
    x_all, y_all = passages(data, train_names)
    rng = random.Random(0)
    keep = [i for k in range(len(GENRES)) for i in rng.sample([i for i in range(len(y_all)) if y_all[i] == k], PER_GENRE)]
    x, y = x_all[keep], y_all[keep]
    xt, yt = passages(data, list(TEST_PLAYS))
    majority = float((yt == torch.bincount(yt).argmax()).double().mean())   # the best constant guess
    pretrained, tokenizer = load_mini_bert()
    if tokenizer.itos != data.tokenizer.itos:
        raise ValueError("the MLM checkpoint was trained with another vocabulary: rerun bench_bert_mlm")
    arms = {}
    for seed in SEEDS:                                       # seeds outermost: a slow patch hits every arm
        for name, arm in ARMS.items():
            run = finetune(arm, seed, pretrained, x, y, xt, yt, pad)
            arms.setdefault(name, []).append(run)
            print(name, seed, run, flush=True)
    watch.stop()
    summary = {}
    for name, runs in arms.items():
        accs = [r["accuracy"] for r in runs]
        summary[name] = {"accuracies": accs, "mean": statistics.mean(accs), "std": statistics.stdev(accs),
                         "min": min(accs), "max": max(accs), "failed": sum(a <= majority for a in accs),
                         "untrained": sum(r["last_loss"] > UNTRAINED for r in runs),
                         "last_losses": [r["last_loss"] for r in runs],
                         "first_loss": statistics.mean(r["first_loss"] for r in runs),
                         "last_loss": statistics.mean(r["last_loss"] for r in runs),
                         "cpu_s": statistics.mean(r["cpu_s"] for r in runs)}
    results = {"per_genre": PER_GENRE, "train_passages": len(y), "test_passages": len(yt), "steps": STEPS,
               "batch": BATCH, "lr": LR, "decay": DECAY, "seeds": list(SEEDS), "majority": majority,
               "arms": summary, **watch.as_dict(), "load_line": watch.line(), "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "finetune_stability.json").write_text(json.dumps(results, indent=1) + "\n")
    write_markdown("finetune_stability.md", table(results))


def table(r: dict) -> list[str]:
    rows = [f"| Fine-tuning recipe | Test accuracy, mean of {len(r['seeds'])} seeds | Std over seeds | Min – max | "
            "Runs no better than the majority class | Runs that did not train | Training loss, first 10 steps | "
            "last 20 steps |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in r["arms"].items():
        rows.append(f"| {name} | {s['mean']:.1%} | {s['std']:.1%} | {s['min']:.1%} – {s['max']:.1%} | "
                    f"{s['failed']} of {len(r['seeds'])} | {s['untrained']} of {len(r['seeds'])} | {s['first_loss']:.3f} | "
                    f"{s['last_loss']:.3f} |")
    busy = " Measured on a busy machine; the step counts, not the times, fix what each run saw." if r["busy"] else ""
    rows += ["", f"The pre-trained mini-BERT (2 layers, width 128) with a linear head on the mean token vector, "
             f"{r['train_passages']} training passages ({r['per_genre']} per genre), {r['steps']} steps of batch "
             f"{r['batch']}, peak lr {r['lr']:g} for the encoder and the head, weight decay 0.01, linear decay to "
             f"zero after the warm-up; test: {r['test_passages']:,} passages of three unseen plays. The majority class "
             f"scores {r['majority']:.1%} on them; a run that did not train ends with a training loss (mean of its last "
             f"20 steps) above {UNTRAINED:g}, against ln 3 = 1.099 for a uniform guess.{busy} "
             "[^finetune-stability-run]", "", f"[^finetune-stability-run]: {r['machine']}. {r['load_line']}"]
    return rows


if __name__ == "__main__":
    main()
