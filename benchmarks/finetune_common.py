"""Shared by the fine-tuning benchmarks: the two corpora and a GPT pre-trained on Shakespeare.

Corpus A is tiny Shakespeare; corpus B is gensim's Lee news corpus (about 300 modern
Australian news articles, shipped with gensim). One character vocabulary covers both, so a
model pre-trained on A can be fine-tuned on B without touching its embedding table's shape.
The pre-trained model is cached under results/tmp/ (ignored by git) and reused.
"""

import time
from pathlib import Path

import torch
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
