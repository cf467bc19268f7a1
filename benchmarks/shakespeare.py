"""Tiny Shakespeare as characters, split once into training and validation ids: what the
character-level benchmarks train on."""

import torch

from snippets.tokenizers.char import CharTokenizer
from snippets.training.corpus import tiny_shakespeare
from snippets.training.text_data import train_val_split


def characters(val_fraction: float = 0.1) -> tuple[dict, int]:
    """train_val_split of tiny Shakespeare's character ids, and the vocabulary size."""
    text = tiny_shakespeare()
    tokenizer = CharTokenizer.train(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    return train_val_split(ids, val_fraction), tokenizer.vocab_size
