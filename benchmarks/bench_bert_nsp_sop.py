"""NSP against SOP (Lan et al., 2019, arXiv:1909.11942, table 5, repeated on Shakespeare):
the pre-trained mini-BERT of bench_bert_mlm is trained further on next-sentence prediction or on
sentence-order prediction (same text, same steps, the encoder trained with the head), and each
model is evaluated on both tasks, built from the held-out plays.

Two recipes per task. "Pair loss only" fine-tunes the encoder with a head on the mean of the
token vectors. "Pair loss + MLM" is BERT's own pre-training recipe (Devlin et al., 2018,
arXiv:1810.04805, section 3.1): the pair input is masked 15% (80/10/10), the head reads the pooled
[CLS] vector of the masked input, and the loss is the pair loss plus the MLM loss, so the encoder
keeps its MLM skill while it learns the pair task. Each row also reports the accuracy on 2,000 of
its own training pairs, which tells "cannot fit" from "fits but does not carry over".

The benchmark also measures how much the [CLS] vector varies across inputs before pair training
(MLM never asks anything of position 0). A last row needs no encoder: the TF-IDF cosine of A and
B, the topic signal that NSP's negatives offer.

Segments are runs of consecutive spoken lines packed up to SEG_LEN pieces (a line is never cut),
so a pair fills the 64 positions the pre-trained model has. NSP negatives come from another
play (snippets/models/sentence_pairs.nsp_pairs). Writes results/bert_nsp_sop.md/json.
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
from snippets.models.mlm_masking import IGNORE, mask_tokens
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


def train_pairs_run(model, mlm, train, data, seed: int = 0) -> float:
    """STEPS of AdamW on the pair loss (plus the MLM loss of `mlm`, a BertForMaskedLM sharing the
    encoder, on the masked pair input when it is given); returns the CPU seconds spent."""
    owners = [model] + ([mlm] if mlm is not None else [])
    params = list({id(p): p for m in owners for p in m.parameters()}.values())   # the shared encoder once
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    special, mask_id = data.special_ids(), data.tokenizer.stoi["[MASK]"]
    start = time.process_time()
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = LR * min(1.0, (step + 1) / WARMUP) * (1 - step / STEPS)   # warm-up, linear decay
        rows = torch.randint(len(train[0]), (BATCH,), generator=g)
        ids, seg, mask, y = (t[rows] for t in train)
        if mlm is None:
            loss = F.cross_entropy(model(ids, seg, mask), y)
        else:   # BERT's recipe: one masked input feeds both the MLM head and the pair head
            inputs, labels = mask_tokens(ids, special, mask_id, len(data.tokenizer.itos), g)
            hidden, pooled = model.bert(inputs, seg, mask)                    # (B, T, C), (B, C)
            sel = labels != IGNORE
            loss = (F.cross_entropy(model.head(model.drop(pooled)), y)
                    + F.cross_entropy(mlm.head(hidden[sel]), labels[sel]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return time.process_time() - start


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
    runs = {"NSP, pair loss only": ("NSP", False), "SOP, pair loss only": ("SOP", False),
            "NSP + MLM (BERT's recipe)": ("NSP", True), "SOP + MLM (ALBERT's recipe)": ("SOP", True)}
    train = {task: tensors(data, train_pairs[task]) for task in builders}
    seen = {task: tuple(t[:2000] for t in train[task]) for task in builders}   # training pairs, for the fit
    table = {}
    for name, (task, joint) in runs.items():
        torch.manual_seed(0)
        mlm = load_mini_bert()[0]                              # a fresh copy of the MLM model
        model = SequenceClassifier(mlm.bert, 2) if joint else MeanPoolClassifier(mlm.bert, 2)
        seconds = train_pairs_run(model, mlm if joint else None, train[task], data)
        table[name] = {"task": task, "cpu_seconds": seconds, "on own training pairs": accuracy(model, seen[task]),
                       **{f"on {t}": accuracy(model, test[t]) for t in test}}
        print(name, table[name], flush=True)
    table["TF-IDF cosine of A and B + logistic regression (no encoder)"] = {
        "task": "each", **{f"on {t}": cosine_baseline(train_pairs[t], test_pairs[t]) for t in builders}}
    print(table, flush=True)
    load_after = load_average()
    out = {"table": table, "spread_before_pair_training": spreads, "steps": STEPS, "batch": BATCH, "lr": LR,
           "warmup": WARMUP, "seg_len": SEG_LEN, "train_pairs": {t: len(p) for t, p in train_pairs.items()},
           "load_before": load_before, "load_after": load_after, "machine": machine()}
    (RESULTS / "bert_nsp_sop.json").write_text(json.dumps(out, indent=1))
    write_markdown("bert_nsp_sop.md", render(out))


def render(out: dict) -> list[str]:
    """The results table and its caption, from what main() saved in bert_nsp_sop.json."""
    table, spreads = out["table"], out["spread_before_pair_training"]
    steps, batch, lr, warmup = out["steps"], out["batch"], out["lr"], out.get("warmup", WARMUP)
    rows = ["| Trained on | Own task, training plays | NSP (held-out plays) | SOP (held-out plays) |",
            "|:---|---:|---:|---:|"]
    rows += [f"| {name} | {r['on own training pairs']:.1%} | {r['on NSP']:.1%} | {r['on SOP']:.1%} |"
             for name, r in table.items() if "on own training pairs" in r]
    rows += [f"| {name} | | {r['on NSP']:.1%} | {r['on SOP']:.1%} |"
             for name, r in table.items() if "on own training pairs" not in r]
    draws = steps * batch
    sizes = out.get("train_pairs")
    counts = sorted(set(sizes.values())) if sizes else []
    pool = (f" of the {' to '.join(f'{c:,}' for c in counts[::max(1, len(counts) - 1)])} pairs that each "
            f"task's training plays give" if counts else "")
    rows += ["", f"Accuracy (chance is 50%). The four BERT rows start from the MLM-pre-trained mini-BERT and train "
             f"the encoder with the head for {steps} steps of batch {batch}, AdamW at peak lr {lr:g} ({warmup} "
             f"warm-up steps, linear decay to zero). \"Pair loss only\": a head on the mean of the token vectors, "
             f"unmasked input. \"+ MLM\": BERT's pre-training recipe, a head on the pooled [CLS] vector of the "
             f"input masked 15% (80/10/10), loss = pair loss + MLM loss; evaluated on unmasked input. "
             f"\"Own task, training plays\": 2,000 pairs of the row's own task built from the training plays, the "
             f"set its batches were drawn from ({draws:,} draws{pool}, so most of these pairs were never "
             f"drawn): in-distribution accuracy, which tells \"has not learned the task\" from \"learned it but "
             f"it does not carry over to other plays\". The last row is "
             f"trained on each task's own training pairs. Before pair training, the spread of the [CLS] vector "
             f"across 1,000 test pairs is {spreads['[CLS]']:.3f}, against {spreads['mean of tokens']:.3f} for the "
             f"mean of the tokens (1.0 would be random vectors, 0 a constant). Segments of up to "
             f"{out.get('seg_len', SEG_LEN)} pieces (whole consecutive lines); NSP negatives from another play; "
             f"2,000 test pairs per task from {', '.join(HELD_OUT)}. {out.get('machine', machine())}; load average "
             f"{out['load_before']} before, {out['load_after']} after"
             + busy_note(out["load_before"], out["load_after"])]
    return rows


if __name__ == "__main__":
    main()
