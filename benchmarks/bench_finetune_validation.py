"""The cost benchmarks' learning rates chosen on held-out plays instead of on the test set.

bench_finetune_cost (MiniLM) and bench_finetune_cost_gpt (our GPT) report each method's best
test accuracy over a learning-rate sweep: the largest of four to six test scores, biased
upwards. Here two training plays (VAL_PLAYS, a comedy and a history) leave the training set
and become a validation set. Every method trains on the rest at every rate of the same grid,
with the same steps and batch; the rate with the best validation accuracy is chosen, and the
test accuracy at that rate is reported once, with its binomial standard error. The test set
is the cost benchmarks' own. Writes results/finetune_validation.md and .json.
"""

import copy
import json
import math

import torch

from benchmarks import bench_finetune_cost as minilm
from benchmarks import bench_finetune_cost_gpt as gpt
from benchmarks.finetune_common import (PER_CLASS_TEST, accuracy, fit_classifier, genre_data,
                                        pretrained, speeches_by_play)
from benchmarks.report import RESULTS, machine, write_markdown

VAL_PLAYS = {"comedies": "much-ado-about-nothing", "histories": "henry-iv-part-1"}


def splits() -> dict[str, tuple[list[str], torch.Tensor]]:
    """train: the cost benchmarks' training speeches minus VAL_PLAYS'; val: up to
    PER_CLASS_TEST speeches of each VAL_PLAY (balanced); test: the cost benchmarks' test set."""
    data = genre_data()
    g = torch.Generator().manual_seed(1)
    val_texts: list[str] = []
    val_labels: list[int] = []
    held: set[str] = set()
    plays = [speeches_by_play(genre)[VAL_PLAYS[genre]] for genre in ("comedies", "histories")]
    n = min(PER_CLASS_TEST, *(len(p) for p in plays))
    for label, items in enumerate(plays):
        held.update(items)
        pick = torch.randperm(len(items), generator=g)[:n].tolist()
        val_texts += [items[i] for i in pick]
        val_labels += [label] * n
    texts, labels = data["train"]
    keep = [i for i, t in enumerate(texts) if t not in held]
    return {"train": ([texts[i] for i in keep], labels[keep]),
            "val": (val_texts, torch.tensor(val_labels)), "test": data["test"]}


def sweep(module, base, encode, data: dict) -> dict:
    """{method: {lr: [validation accuracy, test accuracy]}} over the module's grid."""
    x = {k: encode(texts) for k, (texts, _) in data.items()}
    y = {k: labels for k, (_, labels) in data.items()}
    out: dict = {}
    for name, lrs in module.SWEEP.items():
        frozen = name.startswith("frozen")
        feats = x
        if frozen:  # the frozen network's features are computed once
            torch.manual_seed(0)
            probe = module.build(name, copy.deepcopy(base))
            with torch.no_grad():
                feats = {k: probe.features(v) for k, v in x.items()}
        out[name] = {}
        for lr in lrs:
            torch.manual_seed(0)
            net = fit_classifier(module.build(name, copy.deepcopy(base)), lr,
                                 module.HEAD_STEPS if frozen else module.STEPS, module.BATCH,
                                 feats["train"], y["train"])
            out[name][lr] = [accuracy(net, feats["val"], y["val"]),
                             accuracy(net, feats["test"], y["test"])]
            print(f"  {name} lr {lr:g}: val {out[name][lr][0]:.1%} test {out[name][lr][1]:.1%}",
                  flush=True)
    return out


def write(results: dict) -> None:
    """results/finetune_validation.md and .json, for the models swept so far."""
    rows = ["| Model | Method | Rate chosen on validation | Validation accuracy "
            "| Test accuracy ± SE | Best test accuracy of the sweep |",
            "|---|---|---:|---:|---:|---:|"]
    sizes = results["sizes"]
    for model_name in ("MiniLM", "our GPT"):
        for method, runs in results.get(model_name, {}).items():
            lr = max(runs, key=lambda r: (runs[r][0], -r))  # a tie goes to the smaller rate
            val, test = runs[lr]
            se = math.sqrt(test * (1 - test) / sizes["test"])
            best = max(t for _, t in runs.values())
            rows.append(f"| {model_name} | {method} | {lr:g} | {val:.1%} | {test:.1%} ± "
                        f"{se:.1%} | {best:.1%} |")
    write_markdown("finetune_validation.md", rows + [
        "", f"Validation plays: {', '.join(VAL_PLAYS.values())}, taken out of the cost "
        f"benchmarks' training set ({sizes['train']} training, {sizes['val']} validation and "
        f"{sizes['test']} test speeches); grids, steps and batch as in the cost benchmarks. "
        f"SE: the binomial standard error of one accuracy on {sizes['test']} test speeches. "
        f"{machine()}."])
    (RESULTS / "finetune_validation.json").write_text(
        json.dumps(results, indent=1, default=str))


def main() -> None:
    torch.set_num_threads(1)
    data = splits()
    results: dict = {"sizes": {k: len(v[1]) for k, v in data.items()}}
    tokenizer = minilm.transformers.AutoTokenizer.from_pretrained(minilm.MINILM)
    encoder = minilm.transformers.AutoModel.from_pretrained(minilm.MINILM).eval()
    results["MiniLM"] = sweep(minilm, encoder, lambda texts: dict(tokenizer(
        texts, truncation=True, max_length=minilm.MAX_TOKENS, padding="max_length",
        return_tensors="pt")), data)
    write(results)  # MiniLM's part is kept even if the GPT's pre-training is cut short
    model, tok, _, _ = pretrained()
    results["our GPT"] = sweep(gpt, model.eval(), lambda texts: gpt.windows(texts, tok), data)
    write(results)


if __name__ == "__main__":
    main()
