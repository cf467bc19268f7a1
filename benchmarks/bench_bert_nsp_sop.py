"""NSP against SOP (Lan et al., 2019, arXiv:1909.11942, table 5, repeated on Shakespeare):
the pre-trained mini-BERT of bench_bert_mlm is trained further on next-sentence prediction or on
sentence-order prediction (same text, same steps, the encoder fine-tuned with the head), and each
model is evaluated on both tasks, built from the held-out plays.

The main heads read the mean of the token vectors; a third run trains BERT's own head on the
pooled [CLS] vector, and the benchmark measures how much that vector varies across inputs before
pair training (MLM never asks anything of position 0). A last row needs no encoder: the TF-IDF
cosine of A and B, the topic signal that NSP's negatives offer.

Segments are runs of consecutive spoken lines packed up to SEG_LEN pieces (a line is never cut),
so a pair fills the 64 positions the pre-trained model has. NSP negatives come from another
play. Writes results/bert_nsp_sop.md/json.
"""

import json
import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from benchmarks.bert_common import (HELD_OUT, MeanPoolClassifier, busy_note, chunks, load_mini_bert,
                                    load_play_data)
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertModel
from snippets.models.bert_heads import SequenceClassifier
from snippets.models.bert_weights import mean_pool
from snippets.models.sentence_pairs import collate_pairs, nsp_pairs, pack_pair, sop_pairs

STEPS, BATCH, LR, WARMUP, MAX_LEN, SEG_LEN = 500, 32, 3e-4, 50, 64, 30


def cosine_baseline(train_pairs, test_pairs) -> float:
    """Topic similarity alone: logistic regression on the TF-IDF cosine of A and B (over piece ids).
    It is symmetric in A and B, so on SOP it is at chance by construction."""
    text = lambda seg: " ".join(map(str, seg))  # noqa: E731
    vec = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True).fit(
        [text(x) for a, b, _ in train_pairs for x in (a, b)])

    def features(pairs):
        a = vec.transform([text(a) for a, _, _ in pairs])
        b = vec.transform([text(b) for _, b, _ in pairs])
        return np.asarray(a.multiply(b).sum(axis=1)), np.array([label for *_, label in pairs])

    x, y = features(train_pairs)
    xt, yt = features(test_pairs)
    return float(LogisticRegression().fit(x, y).score(xt, yt))


@torch.no_grad()
def spread(bert: BertModel, batch) -> dict[str, float]:
    """How much a summary vector varies across inputs: the mean over channels of its standard
    deviation across the batch, over its mean norm divided by sqrt(C) (1.0 for random vectors)."""
    ids, seg, mask, _ = batch
    bert.eval()
    hidden, _ = bert(ids, seg, mask)                             # (N, T, C)
    out = {}
    for name, v in (("[CLS]", hidden[:, 0]), ("mean of tokens", mean_pool(hidden, mask))):
        out[name] = float(v.std(0).mean() / (v.norm(dim=1).mean() / v.shape[1] ** 0.5))
    return out


def documents(data, names):
    """Each play is a document; each segment is a run of consecutive lines of at most SEG_LEN pieces."""
    return [chunks([line for line in data.play_ids[n][1] if line], SEG_LEN) for n in names]


def tensors(data, pairs):
    cls, sep, pad = (data.tokenizer.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    ids, seg, mask = collate_pairs([pack_pair(a, b, cls, sep, MAX_LEN) for a, b, _ in pairs], pad)
    return ids, seg, mask, torch.tensor([label for *_, label in pairs])


def accuracy(model, batch) -> float:
    ids, seg, mask, y = batch
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(ids[s: s + 256], seg[s: s + 256], mask[s: s + 256]).argmax(-1)
                          for s in range(0, len(ids), 256)])
    model.train()
    return float((pred == y).double().mean())


def main() -> None:
    torch.set_num_threads(1)
    load_before = load_average()
    data = load_play_data()
    if load_mini_bert()[1].itos != data.tokenizer.itos:
        raise ValueError("the MLM checkpoint was trained with another vocabulary: rerun bench_bert_mlm")
    train_docs = documents(data, [n for n in data.play_ids if n not in HELD_OUT])
    test_docs = documents(data, list(HELD_OUT))
    builders = {"NSP": nsp_pairs, "SOP": sop_pairs}
    test, test_pairs, train_pairs = {}, {}, {}
    for task, builder in builders.items():   # 2,000 pairs drawn from all four held-out plays
        pairs = builder(test_docs, random.Random(1))
        random.Random(2).shuffle(pairs)
        test_pairs[task] = pairs[:2000]
        test[task] = tensors(data, test_pairs[task])
        train_pairs[task] = builder(train_docs, random.Random(0))
    pretrained = load_mini_bert()[0].bert
    spreads = spread(pretrained, tuple(t[:1000] for t in test["NSP"]))
    runs = {"NSP": ("NSP", MeanPoolClassifier), "SOP": ("SOP", MeanPoolClassifier),
            "NSP, head on the pooled [CLS] (as BERT)": ("NSP", SequenceClassifier)}
    train = {task: tensors(data, train_pairs[task]) for task in builders}
    table = {}
    for name, (task, head) in runs.items():
        torch.manual_seed(0)
        model = head(load_mini_bert()[0].bert, 2)             # a fresh copy of the MLM encoder
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
        g = torch.Generator().manual_seed(0)
        start = time.process_time()
        for step in range(STEPS):
            for group in opt.param_groups:
                group["lr"] = LR * min(1.0, (step + 1) / WARMUP) * (1 - step / STEPS)   # warm-up, linear decay
            rows = torch.randint(len(train[task][0]), (BATCH,), generator=g)
            ids, seg, mask, y = (t[rows] for t in train[task])
            loss = F.cross_entropy(model(ids, seg, mask), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        table[name] = {"task": task, "cpu_seconds": time.process_time() - start,
                       **{f"on {t}": accuracy(model, test[t]) for t in test}}
        print(name, table[name], flush=True)
    table["TF-IDF cosine of A and B + logistic regression (no encoder)"] = {
        "task": "each", **{f"on {t}": cosine_baseline(train_pairs[t], test_pairs[t]) for t in builders}}
    print(table, flush=True)
    load_after = load_average()
    (RESULTS / "bert_nsp_sop.json").write_text(json.dumps(
        {"table": table, "spread_before_pair_training": spreads, "steps": STEPS, "batch": BATCH, "lr": LR,
         "load_before": load_before, "load_after": load_after}, indent=1))
    rows = ["| Trained on | Accuracy on NSP (held-out plays) | Accuracy on SOP (held-out plays) |",
            "|:---|---:|---:|"]
    rows += [f"| {name} | {r['on NSP']:.1%} | {r['on SOP']:.1%} |" for name, r in table.items()]
    rows += ["", f"The last row is trained on each task's own training pairs. The three BERT rows start from the MLM-pre-trained mini-BERT and fine-tune the encoder with the head; "
             f"{STEPS} steps of batch {BATCH}, AdamW at peak lr {LR:g} ({WARMUP} warm-up steps, linear decay). "
             f"The first two heads read the mean of the token vectors; the third, BERT's pooled [CLS]. Before "
             f"pair training, the spread of the [CLS] vector across 1,000 test pairs is "
             f"{spreads['[CLS]']:.3f}, against {spreads['mean of tokens']:.3f} for the mean of the tokens (1.0 "
             f"would be random vectors, 0 a constant). Segments of up to {SEG_LEN} pieces (whole consecutive lines); 2,000 test "
             f"pairs per task from {', '.join(HELD_OUT)} (chance is 50%). {machine()}; load average "
             f"{load_before} before, {load_after} after" + busy_note(load_before, load_after)]
    write_markdown("bert_nsp_sop.md", rows)


if __name__ == "__main__":
    main()
