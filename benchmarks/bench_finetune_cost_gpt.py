"""What full fine-tuning, LoRA and a frozen trunk with a head cost and reach on our GPT.

The same comedy-or-history task as bench_finetune_cost.py (MiniLM), on the character-level
GPT pre-trained on tiny Shakespeare that the forgetting and DPO benchmarks use
(finetune_common.pretrained(): the shakespeare-fast model, 4 blocks, width 128, context 64).
Each speech's first 64 characters, the GPT's context (characters outside its alphabet become
spaces; WINDOWS > 1 would feed more of the speech as further 64-character windows). The
classifier removes the language-model head, mean-pools the final layer-normed states over
every position (a causal model's early positions see little, but the mean still carries the
last, fully informed states), and applies a linear head.
Methods: full fine-tuning; LoRA r=8 on all six projections of every block; the trunk frozen
with only the head trained on cached features (20 times as many steps). Each method runs a
learning-rate sweep and reports its best test accuracy.

Costs per training step at batch 16, as in the MiniLM benchmark: median
wall time of interleaved rounds; gradients, AdamW state and saved activations counted; the
peak resident set size of 3 steps in a fresh process above its size after loading, measured.
Writes results/finetune_cost_gpt.md and .json.
"""

import copy
import os
import sys

import torch
from torch import nn

from benchmarks.bench_finetune_cost import BATCH, PEAK_STEPS, run_study
from benchmarks.finetune_common import (PER_CLASS_TEST, PER_CLASS_TRAIN, genre_data, job_key,
                                        measured_peak, memory_parts, pretrained, save_job,
                                        train_classifier, training_step)
from snippets.adaptation.lora import add_lora

WINDOWS, STEPS, HEAD_STEPS, ROUNDS = 1, 50, 1000, 7
TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "ffn.up", "ffn.down"]
SWEEP = {"full fine-tuning": [1e-4, 3e-4, 1e-3, 3e-3],
         "LoRA r=8 (all 6 projections)": [1e-3, 3e-3, 1e-2, 3e-2],
         "frozen trunk + head": [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]}


class GPTClassifier(nn.Module):
    """Our GPT without its LM head, mean-pooled over windows and positions -> linear head."""

    def __init__(self, gpt: nn.Module):
        super().__init__()
        gpt.lm_head = nn.Identity()  # logits() now ends at the final LayerNorm: (B, T, C)
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.d_model, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        B, W, T = x.shape
        h = self.gpt.logits(x.reshape(B * W, T))                     # (B·W, T, C)
        return h.reshape(B, W * T, -1).mean(dim=1)                   # (B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(name: str, gpt: nn.Module) -> GPTClassifier:
    """The classifier for one method around `gpt` (changed in place: pass a copy)."""
    model = GPTClassifier(gpt)
    if name.startswith("LoRA"):
        add_lora(model.gpt, TARGETS, r=8, alpha=16, generator=torch.Generator().manual_seed(0))
    elif name.startswith("frozen"):
        for p in model.gpt.parameters():
            p.requires_grad_(False)
    return model


def windows(texts: list[str], tok) -> torch.Tensor:
    """(N, WINDOWS, T) character ids: the first WINDOWS·T characters of each text."""
    T = 64
    n = WINDOWS * T
    clean = ["".join(c if c in tok.stoi else " " for c in t)[:n].ljust(n) for t in texts]
    return torch.tensor([tok.encode(t) for t in clean]).reshape(len(texts), WINDOWS, T)


def prepared() -> tuple:
    """The pre-trained GPT (eval mode) and the task as character windows."""
    gpt, tok, _, _ = pretrained()
    data = genre_data()
    return (gpt.eval(), windows(data["train"][0], tok), data["train"][1],
            windows(data["test"][0], tok), data["test"][1])


def sweep_key(name: str, lrs: tuple[float, ...]) -> str:
    return job_key("gpt", name, *lrs, STEPS, HEAD_STEPS, BATCH, WINDOWS, PER_CLASS_TRAIN,
                   PER_CLASS_TEST)


def peak_key(name: str) -> str:
    malloc = "fixed-malloc" if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "default-malloc"
    return job_key("gpt-peak", name, PEAK_STEPS, BATCH, WINDOWS, malloc)


def sweep_job(job: tuple[str, tuple[float, ...]]) -> dict:
    """One method at each rate, {"runs": [[lr, test accuracy], ...]}, in its own process."""
    name, lrs = job
    torch.set_num_threads(1)
    base, train_x, train_y, test_x, test_y = prepared()
    frozen = name.startswith("frozen")
    if frozen:  # the frozen trunk's features are computed once
        torch.manual_seed(0)
        with torch.no_grad():
            probe = build(name, copy.deepcopy(base))
            train_x, test_x = probe.features(train_x), probe.features(test_x)
    runs = []
    for lr in lrs:
        torch.manual_seed(0)
        runs.append([lr, train_classifier(build(name, copy.deepcopy(base)), lr,
                                          HEAD_STEPS if frozen else STEPS, BATCH, train_x,
                                          train_y, test_x, test_y)])
    return save_job(sweep_key(name, lrs), {"runs": runs})


def peak_job(name: str) -> dict:
    """In a fresh process: load, then the measured peak of PEAK_STEPS steps and the parts."""
    torch.set_num_threads(1)
    base, train_x, train_y, _, _ = prepared()
    torch.manual_seed(0)
    model = build(name, base)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    x, y = train_x[:BATCH], train_y[:BATCH]
    with torch.no_grad():
        model(x)
    saved = []
    peak = measured_peak(lambda: saved.append(training_step(model, opt, x, y)), PEAK_STEPS)
    return save_job(peak_key(name), peak | memory_parts(model, opt, max(saved)))


def main() -> None:
    pretrained()  # trains and caches the base model once, if needed, before the workers start
    run_study(sys.modules[__name__], "finetune_cost_gpt",
              f"{{train}} training and {{test}} test speeches, first {WINDOWS * 64} characters as "
              f"{WINDOWS} windows of 64", f"the frozen trunk's head: {HEAD_STEPS}")


if __name__ == "__main__":
    main()
