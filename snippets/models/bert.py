"""An encoder-only Transformer in the BERT layout (Devlin et al., 2018, arXiv:1810.04805):
token, position and segment embeddings, a stack of Post-LN bidirectional self-attention
blocks, a tanh pooler over [CLS], and a masked-language-model head tied to the token
embedding.

Shape legend: B batch, T time, C model width (d_model), V vocabulary size, S segments.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.blocks import SelfAttentionBlock
from snippets.layers.feedforward import ACTIVATIONS
from snippets.layers.normalization import make_norm
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class BertConfig:
    """Every number that fixes the architecture; CPU-sized defaults.

    BERT-base is BertConfig(30522, 512, 12, 12, 768, 3072); BERT-large (30522, 512, 24, 16, 1024, 4096).
    """

    vocab_size: int = 4096
    max_positions: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    d_ff: int = 512
    n_segments: int = 2               # BERT's "type_vocab_size": sentence A and sentence B
    dropout: float = 0.0
    eps: float = 1e-12                # BERT's LayerNorm epsilon (torch's default is 1e-5)
    activation: str = "gelu"          # exact erf GELU
    pad_id: int = 0
    attn_impl: str = "torch"          # "ours" or "torch" (fused kernel), proven equal

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_positions", "n_layers", "n_heads", "d_model", "d_ff",
                     "n_segments"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id={self.pad_id} is outside [0, {self.vocab_size})")
# --8<-- [end:config]


# --8<-- [start:embeddings]
class BertEmbeddings(nn.Module):
    """x = LayerNorm(E_tok[ids] + E_pos[t] + E_seg[segment]): three tables summed, then normalised."""

    def __init__(self, config: BertConfig):
        super().__init__()
        C = config.d_model
        self.tok = nn.Embedding(config.vocab_size, C)          # (V, C)
        self.pos = nn.Embedding(config.max_positions, C)       # (T_max, C) learned, absolute
        self.seg = nn.Embedding(config.n_segments, C)          # (S, C): which sentence a token is in
        self.norm = make_norm("layer", C, eps=config.eps)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        pos = torch.arange(T, device=ids.device)               # (T,)
        x = self.tok(ids) + self.pos(pos) + self.seg(segments)  # (B, T, C)
        return self.drop(self.norm(x))
# --8<-- [end:embeddings]


# --8<-- [start:checks]
def check_inputs(config: BertConfig, ids: torch.Tensor, segments: torch.Tensor | None,
                 attention_mask: torch.Tensor | None) -> None:
    """Clear errors for the four ways a BERT input goes wrong."""
    if ids.dim() != 2 or ids.dtype != torch.long or ids.numel() == 0:
        raise ValueError(f"ids must be a non-empty (B, T) LongTensor, got {ids.dtype} {tuple(ids.shape)}")
    B, T = ids.shape
    if T > config.max_positions:
        raise ValueError(f"sequence length {T} exceeds the position table "
                         f"(max_positions={config.max_positions}); truncate the input")
    if ids.min() < 0 or ids.max() >= config.vocab_size:
        bad = ids[(ids < 0) | (ids >= config.vocab_size)]
        raise ValueError(f"token ids {sorted(set(bad.tolist()))[:10]} are outside "
                         f"[0, {config.vocab_size})")
    if segments is not None:
        if segments.shape != ids.shape:
            raise ValueError(f"segments shape {tuple(segments.shape)} != ids shape {tuple(ids.shape)}")
        if segments.min() < 0 or segments.max() >= config.n_segments:
            bad = sorted(set(segments[(segments < 0) | (segments >= config.n_segments)].tolist()))
            raise ValueError(f"segment ids {bad} are outside [0, {config.n_segments}): "
                             f"BERT knows sentence A (0) and sentence B (1) only")
    if attention_mask is not None:
        if attention_mask.shape != ids.shape:
            raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} must equal "
                             f"ids shape (B={B}, T={T})")
        if not attention_mask.bool().any(dim=1).all():
            raise ValueError("attention_mask hides every token of at least one sequence")
# --8<-- [end:checks]


# --8<-- [start:model]
# --8<-- [start:model_class]
class BertModel(nn.Module):
    """hidden = PostLN-blocks(embeddings); pooled = tanh(W h_[CLS] + b)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        C = config.d_model
        self.embeddings = BertEmbeddings(config)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(C, config.n_heads, config.d_ff, dropout=config.dropout,
                               norm_first=False, activation=config.activation, norm="layer",
                               attn_impl=config.attn_impl, eps=config.eps)
            for _ in range(config.n_layers))                   # Post-LN, as in the 2018 paper
        self.pooler = nn.Linear(C, C)                          # reads h_[CLS] for NSP / classification
        self.apply(init_bert_weights)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (B, T); segments (B, T) in {0, 1}; attention_mask (B, T), 1 = real token, 0 = pad.

        Returns hidden states (B, T, C) and the pooled [CLS] vector (B, C).
        """
        check_inputs(self.config, ids, segments, attention_mask)
        if segments is None:
            segments = torch.zeros_like(ids)
        mask = None
        if attention_mask is not None:  # no query may look at a padding key
            mask = attention_mask.bool()[:, None, None, :]     # (B, 1, 1, T) broadcasts over H, T_q
        x = self.embeddings(ids, segments)                     # (B, T, C)
        for block in self.blocks:
            x = block(x, mask=mask)                            # (B, T, C), every token sees every token
        pooled = torch.tanh(self.pooler(x[:, 0]))              # (B, C)
        return x, pooled
# --8<-- [end:model_class]


# --8<-- [start:model_init]
def init_bert_weights(module: nn.Module) -> None:
    """BERT's initialiser: N(0, 0.02) weights, zero biases, LayerNorm (1, 0)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
# --8<-- [end:model_init]
# --8<-- [end:model]


# --8<-- [start:mlm]
class BertForMaskedLM(nn.Module):
    """logits = LN(gelu(W h + b)) E_tok^T + b_V: the MLM head reuses the (V, C) token table."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        C = config.d_model
        self.bert = BertModel(config)
        self.transform = nn.Linear(C, C)
        self.transform_norm = make_norm("layer", C, eps=config.eps)
        self.decoder = nn.Linear(C, config.vocab_size)         # weight tied below, bias its own
        self.decoder.weight = self.bert.embeddings.tok.weight  # one (V, C) matrix in and out
        init_bert_weights(self.transform)
        init_bert_weights(self.transform_norm)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """logits (B, T, V); with labels (B, T), -100 where no prediction is asked, the mean
        cross-entropy over the selected positions only."""
        hidden, _ = self.bert(ids, segments, attention_mask)  # (B, T, C)
        logits = self.head(hidden)                             # (B, T, V)
        if labels is None:
            return logits, None
        if labels.shape != ids.shape:
            raise ValueError(f"labels shape {tuple(labels.shape)} != ids shape {tuple(ids.shape)}")
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return logits, loss

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., V). Training may call it on the selected positions alone: the
        (V, C) product is most of an MLM step's cost, and 85% of it would be thrown away."""
        h = self.transform_norm(ACTIVATIONS[self.config.activation](self.transform(hidden)))
        return self.decoder(h)
# --8<-- [end:mlm]


# --8<-- [start:from_hf]
# --8<-- [start:from_hf_rename]
def bert_state_from_hf(state: dict[str, torch.Tensor], n_layers: int,
                       prefix: str = "") -> dict[str, torch.Tensor]:
    """Rename a transformers BertModel state dict (keys under `prefix`) to BertModel's names."""
    p = prefix
    ours = {
        "embeddings.tok.weight": state[p + "embeddings.word_embeddings.weight"],
        "embeddings.pos.weight": state[p + "embeddings.position_embeddings.weight"],
        "embeddings.seg.weight": state[p + "embeddings.token_type_embeddings.weight"],
        "embeddings.norm.weight": state[p + "embeddings.LayerNorm.weight"],
        "embeddings.norm.bias": state[p + "embeddings.LayerNorm.bias"],
    }
    if p + "pooler.dense.weight" in state:  # BertForMaskedLM is built without a pooler
        ours |= {"pooler.weight": state[p + "pooler.dense.weight"],
                 "pooler.bias": state[p + "pooler.dense.bias"]}
    names = {  # ours -> theirs, inside one layer
        "attn.q_proj": "attention.self.query", "attn.k_proj": "attention.self.key",
        "attn.v_proj": "attention.self.value", "attn.out_proj": "attention.output.dense",
        "norm1": "attention.output.LayerNorm", "ffn.up": "intermediate.dense",
        "ffn.down": "output.dense", "norm2": "output.LayerNorm",
    }
    for i in range(n_layers):
        for mine, theirs in names.items():
            for kind in ("weight", "bias"):
                ours[f"blocks.{i}.{mine}.{kind}"] = state[f"{p}encoder.layer.{i}.{theirs}.{kind}"]
    return ours
# --8<-- [end:from_hf_rename]


# --8<-- [start:from_hf_build]
def bert_from_hf(state: dict[str, torch.Tensor], config: BertConfig) -> BertModel:
    """Our BertModel from a transformers BertModel state dict (strict: every weight used)."""
    model = BertModel(config)
    model.load_state_dict(bert_state_from_hf(state, config.n_layers), strict=True)
    return model


def bert_mlm_from_hf(state: dict[str, torch.Tensor], config: BertConfig) -> BertForMaskedLM:
    """Our BertForMaskedLM from a transformers BertForMaskedLM state dict."""
    model = BertForMaskedLM(config)
    ours = {"bert." + k: v for k, v in bert_state_from_hf(state, config.n_layers, "bert.").items()} | {
        "transform.weight": state["cls.predictions.transform.dense.weight"],
        "transform.bias": state["cls.predictions.transform.dense.bias"],
        "transform_norm.weight": state["cls.predictions.transform.LayerNorm.weight"],
        "transform_norm.bias": state["cls.predictions.transform.LayerNorm.bias"],
        "decoder.bias": state["cls.predictions.bias"],
    }
    ours["decoder.weight"] = ours["bert.embeddings.tok.weight"]
    # BertForMaskedLM has no pooler: keep ours at its initial values, load everything else
    missing, unexpected = model.load_state_dict(ours, strict=False)
    if unexpected or set(missing) - {"bert.pooler.weight", "bert.pooler.bias"}:
        raise ValueError(f"weights did not map: missing {missing}, unexpected {unexpected}")
    return model
# --8<-- [end:from_hf_build]
# --8<-- [end:from_hf]
