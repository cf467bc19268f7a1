"""Shared set-up of the BERT chapter's benchmarks: the plays as WordPiece ids, a mini-BERT,
and an MLM training loop measured in wall-clock time.

Vocabulary: our chapter-6 WordPiece trainer (snippets/tokenizers/wordpiece.py), trained on the
training plays' spoken lines after BERT's normaliser (lower-casing, accents stripped), 4,096
pieces; encoding is our WordPiece (greedy longest match) with BERT's pre-tokenizer.
"""

import hashlib
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from torch import nn

from snippets.models.bert import BertConfig, BertForMaskedLM, BertModel
from snippets.models.bert_weights import mean_pool
from snippets.models.mlm_masking import IGNORE, mask_tokens
from snippets.tokenizers.wordpiece import (SPECIAL_TOKENS, WordPiece, bert_basic_tokenize, bert_normalize,
                                          train_wordpiece)
from snippets.training.corpus import cache_dir
from snippets.training.plays import load_plays

VOCAB_SIZE = 4096
HELD_OUT = ("twelfth-night", "macbeth", "richard-ii", "the-tempest")   # one comedy, tragedy, history, romance
SEQ_LEN = 64


class CachedWordPiece:
    """Our WordPiece with a per-word memo: the plays repeat the same 20k words a million times."""

    def __init__(self, tokenizer: WordPiece):
        self.tok, self.memo = tokenizer, {}

    def encode(self, text: str) -> list[int]:
        out = []
        for word in bert_basic_tokenize(text):
            if word not in self.memo:
                self.memo[word] = [self.tok.stoi[p] for p in self.tok.tokenize_word(word)]
            out += self.memo[word]
        return out


def build_tokenizer(plays: dict) -> WordPiece:
    """Our WordPiece trainer on the training plays only (the held-out plays stay unseen)."""
    text = "\n".join(line for name, (_, lines) in plays.items() if name not in HELD_OUT for line in lines)
    return WordPiece(train_wordpiece(bert_normalize(text), VOCAB_SIZE), pre_tokenizer=bert_basic_tokenize)


@dataclass
class PlayData:
    tokenizer: WordPiece
    play_ids: dict[str, tuple[str, list[list[int]]]]   # play -> (genre, ids per spoken line)

    def special_ids(self) -> list[int]:
        return [self.tokenizer.stoi[t] for t in SPECIAL_TOKENS]


def load_play_data() -> PlayData:
    """Vocabulary trained and plays tokenised once, then cached on disk (bert_plays_v2.pt;
    v1 held the pruned BERT-uncased vocabulary of an earlier version)."""
    plays = load_plays()
    cache = cache_dir() / "bert_plays_v2.pt"
    if cache.exists():
        saved = torch.load(cache, weights_only=True)
        return PlayData(WordPiece(saved["vocab"], pre_tokenizer=bert_basic_tokenize), saved["play_ids"])
    tokenizer = build_tokenizer(plays)
    enc = CachedWordPiece(tokenizer)
    play_ids = {name: (genre, [enc.encode(line) for line in lines]) for name, (genre, lines) in plays.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"vocab": tokenizer.itos, "play_ids": play_ids,
                "sha": hashlib.sha256("\n".join(tokenizer.itos).encode()).hexdigest()}, cache)
    return PlayData(tokenizer, play_ids)


def chunks(lines: list[list[int]], length: int) -> list[list[int]]:
    """Consecutive lines packed into pieces of at most `length` ids (a line never split)."""
    out, cur = [], []
    for line in lines:
        line = line[:length]
        if len(cur) + len(line) > length:
            out.append(cur)
            cur = []
        cur = cur + line
    if cur:
        out.append(cur)
    return out


def sequences(data: PlayData, names: list[str], seq_len: int = SEQ_LEN) -> torch.Tensor:
    """[CLS] chunk [SEP], padded: (N, seq_len)."""
    cls, sep, pad = (data.tokenizer.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    rows = [[cls, *c, sep] for n in names for c in chunks(data.play_ids[n][1], seq_len - 2)]
    out = torch.full((len(rows), seq_len), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out


def mini_config(vocab_size: int) -> BertConfig:
    """Two layers, width 128: what a 5-minute budget on two shared cores can train."""
    return BertConfig(vocab_size=vocab_size, max_positions=SEQ_LEN, n_layers=2, n_heads=4,
                      d_model=128, d_ff=512)


class MeanPoolClassifier(nn.Module):
    """logits = W mean_t(h_t) + b over the real tokens: (B, T) -> (B, K). A head that does not
    rely on [CLS], which MLM-only pre-training never trains (bench_bert_nsp_sop compares both)."""

    def __init__(self, bert: BertModel, n_classes: int):
        super().__init__()
        self.bert, self.head = bert, nn.Linear(bert.config.d_model, n_classes)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden, _ = self.bert(ids, segments, attention_mask)    # (B, T, C)
        if attention_mask is None:
            attention_mask = torch.ones_like(ids)
        return self.head(mean_pool(hidden, attention_mask))     # (B, K)


CHECKPOINT = "bert_mini_mlm.pt"   # in cache_dir(): bench_bert_mlm writes it, the others read it


def save_mini_bert(model: BertForMaskedLM, tokenizer: WordPiece) -> Path:
    """Weights, config and vocabulary in one file, so that a reader can rebuild the model alone."""
    path = cache_dir() / CHECKPOINT
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": model.state_dict(), "config": asdict(model.config), "vocab": tokenizer.itos}, path)
    return path


def load_mini_bert(path: Path | None = None) -> tuple[BertForMaskedLM, WordPiece]:
    """The MLM-pre-trained mini-BERT and its tokenizer (BERT's normaliser and pre-tokenizer)."""
    path = path or cache_dir() / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `python -m benchmarks bert_mlm` first")
    saved = torch.load(path, weights_only=True)
    if "config" not in saved:
        raise ValueError(f"{path} is an older checkpoint without its config: rerun bench_bert_mlm")
    model = BertForMaskedLM(BertConfig(**saved["config"]))
    model.load_state_dict(saved["state"])
    return model, WordPiece(saved["vocab"], pre_tokenizer=bert_basic_tokenize)


def mlm_step_loss(model: BertForMaskedLM, ids: torch.Tensor, data: PlayData, g: torch.Generator,
                  rate: float = 0.15) -> tuple[torch.Tensor, int, int]:
    """Masked loss, computed at the selected positions only; also (correct, selected)."""
    pad = data.tokenizer.stoi["[PAD]"]
    inputs, labels = mask_tokens(ids, data.special_ids(), data.tokenizer.stoi["[MASK]"],
                                 model.config.vocab_size, g, rate=rate)
    hidden, _ = model.bert(inputs, attention_mask=(ids != pad).long())
    sel = labels != IGNORE
    logits = model.head(hidden[sel])                                   # (n_selected, V)
    loss = F.cross_entropy(logits, labels[sel])
    return loss, int((logits.argmax(-1) == labels[sel]).sum()), int(sel.sum())


@torch.no_grad()
def evaluate_mlm(model: BertForMaskedLM, ids: torch.Tensor, data: PlayData, seed: int = 1234,
                 batch: int = 128) -> tuple[float, float]:
    """(mean loss per masked token, accuracy) on held-out sequences with a fixed mask."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    total, correct, n = 0.0, 0, 0
    for s in range(0, len(ids), batch):
        loss, c, k = mlm_step_loss(model, ids[s: s + batch], data, g)
        total, correct, n = total + loss.item() * k, correct + c, n + k
    model.train()
    return total / n, correct / n


def baselines(train_ids: torch.Tensor, test_ids: torch.Tensor, data: PlayData) -> dict[str, float]:
    """Most-frequent-token accuracy, and the unigram distribution's loss and (expected) accuracy."""
    special = torch.tensor(data.special_ids())
    tr = train_ids[~torch.isin(train_ids, special)]
    te = test_ids[~torch.isin(test_ids, special)]
    V = len(data.tokenizer.itos)
    counts = torch.bincount(tr, minlength=V).double() + 1.0            # add-one: no zero probability
    p = counts / counts.sum()
    top = int(counts.argmax())
    return {"most_frequent_acc": float((te == top).double().mean()),
            "most_frequent_token": data.tokenizer.itos[top],
            "unigram_loss": float(-p[te].log().mean()),
            "unigram_sampled_acc": float(p[te].mean()),
            "uniform_loss": math.log(V)}


def train_mlm(model: BertForMaskedLM, train_ids: torch.Tensor, test_ids: torch.Tensor, data: PlayData, *,
              seconds: float, lr: float, warmup: int, batch: int = 32, eval_every: float = 20.0,
              seed: int = 0, rate: float = 0.15, max_steps: int = 10**9, decay_share: float = 0.0) -> dict:
    """AdamW with linear warm-up, then constant lr; with `decay_share` > 0 the last share of the
    budget decays the lr linearly to zero when the budget runs out (warm-up, stable, decay), for a budget of `seconds` of this process's CPU time (with one
    torch thread, the wall-clock time of an idle machine; on a shared machine wall-clock budgets
    shrink with everybody else's load). The budget is time, not steps, so the decay is driven by
    the CPU seconds spent: the step count at the end is whatever the machine managed. Returns a
    curve of (step, CPU seconds, train loss, held-out loss, held-out accuracy, lr)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    curve, step, next_eval = [], 0, 0.0
    start, wall = time.process_time(), time.perf_counter()
    running = None
    while True:
        elapsed = time.process_time() - start
        if elapsed >= next_eval:
            loss, acc = evaluate_mlm(model, test_ids[:256], data)
            curve.append({"step": step, "seconds": round(elapsed, 1), "train_loss": running,
                          "test_loss": loss, "test_acc": acc, "lr": opt.param_groups[0]["lr"]})
            next_eval += eval_every
        if elapsed >= seconds or step >= max_steps:
            break
        scale = min(1.0, (step + 1) / max(1, warmup))
        if decay_share > 0:   # 1 until the decay starts, then what is left of the budget's last share
            left = 1.0 - (time.process_time() - start) / seconds
            scale *= min(1.0, max(0.0, left / decay_share))
        for group in opt.param_groups:
            group["lr"] = lr * scale
        rows = torch.tensor([rng.randrange(len(train_ids)) for _ in range(batch)])
        loss, _, _ = mlm_step_loss(model, train_ids[rows], data, g, rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        step += 1
    return {"steps": step, "seconds": time.process_time() - start, "wall_seconds": time.perf_counter() - wall,
            "curve": curve}


def busy_note(load_before: str, load_after: str) -> str:
    """The end of a results caption: says so when the load average exceeded the 2 cores."""
    if max(float(load_before.split(" / ")[0]), float(load_after.split(" / ")[0])) > 2:
        return (" — above the 2 cores: the machine was shared with other jobs, so wall-clock times "
                "are inflated; the step budgets, not the times, fix what each model saw.")
    return "."
