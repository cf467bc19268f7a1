"""NSP against SOP (Lan et al., 2019, arXiv:1909.11942, table 5, repeated on Shakespeare):
the pre-trained mini-BERT of bench_bert_mlm is trained further on next-sentence prediction or on
sentence-order prediction (same text, same steps, pooled-[CLS] classifier), and each model is
evaluated on both tasks, built from the held-out plays.

Segments are two consecutive spoken lines (at most 28 pieces). NSP negatives come from another
play. Writes results/bert_nsp_sop.md/json.
"""

import json
import random
import time

import torch
import torch.nn.functional as F

from benchmarks.bert_common import HELD_OUT, busy_note, load_play_data, mini_config
from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.models.bert import BertForMaskedLM
from snippets.models.bert_heads import SequenceClassifier
from snippets.models.sentence_pairs import collate_pairs, nsp_pairs, pack_pair, sop_pairs
from snippets.training.corpus import cache_dir

STEPS, BATCH, LR, MAX_LEN = 500, 32, 3e-4, 64


def documents(data, names):
    """Each play is a document; each segment is two consecutive lines."""
    docs = []
    for n in names:
        lines = [line for line in data.play_ids[n][1] if line]
        docs.append([(lines[i] + lines[i + 1])[:28] for i in range(0, len(lines) - 1, 2)])
    return docs


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
    saved = torch.load(cache_dir() / "bert_mini_mlm.pt", weights_only=True)
    train_docs = documents(data, [n for n in data.play_ids if n not in HELD_OUT])
    test_docs = documents(data, list(HELD_OUT))
    test = {"NSP": tensors(data, nsp_pairs(test_docs, random.Random(1))[:2000]),
            "SOP": tensors(data, sop_pairs(test_docs, random.Random(1))[:2000])}
    builders = {"NSP": nsp_pairs, "SOP": sop_pairs}
    table = {}
    for task, builder in builders.items():
        train = tensors(data, builder(train_docs, random.Random(0)))
        torch.manual_seed(0)
        mlm = BertForMaskedLM(mini_config(len(data.tokenizer.itos)))
        mlm.load_state_dict(saved["state"])
        model = SequenceClassifier(mlm.bert, 2)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
        g = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        for step in range(STEPS):
            for group in opt.param_groups:
                group["lr"] = LR * min(1.0, (step + 1) / 50)
            rows = torch.randint(len(train[0]), (BATCH,), generator=g)
            ids, seg, mask, y = (t[rows] for t in train)
            loss = F.cross_entropy(model(ids, seg, mask), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        table[task] = {"seconds": time.perf_counter() - start,
                       **{f"on {t}": accuracy(model, test[t]) for t in test}}
        print(task, table[task], flush=True)
    load_after = load_average()
    (RESULTS / "bert_nsp_sop.json").write_text(json.dumps(
        {"table": table, "load_before": load_before, "load_after": load_after}, indent=1))
    rows = ["| Trained on | Accuracy on NSP (held-out plays) | Accuracy on SOP (held-out plays) |",
            "|:---|---:|---:|"]
    rows += [f"| {task} | {r['on NSP']:.1%} | {r['on SOP']:.1%} |" for task, r in table.items()]
    rows += ["", f"Both start from the MLM-pre-trained mini-BERT; {STEPS} steps of batch {BATCH}, AdamW at "
             f"peak lr {LR:g}; segments of two consecutive lines; 2,000 test pairs per task from "
             f"{', '.join(HELD_OUT)} (chance is 50%). {machine()}; load average {load_before} before, "
             f"{load_after} after" + busy_note(load_before, load_after)]
    write_markdown("bert_nsp_sop.md", rows)


if __name__ == "__main__":
    main()
