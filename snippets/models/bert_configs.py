"""Closed-form parameter counts of the BERT family: BERT (Devlin et al., 2018, arXiv:1810.04805),
RoBERTa (Liu et al., 2019, arXiv:1907.11692), ALBERT (Lan et al., 2019, arXiv:1909.11942),
DistilBERT (Sanh et al., 2019, arXiv:1910.01108), ELECTRA (Clark et al., 2020, arXiv:2003.10555)
and DeBERTa (He et al., 2020, arXiv:2006.03654), counted as transformers' encoder classes
(BertModel, AlbertModel, ...) hold them: no pre-training head.

Symbols: V vocabulary, P position-table length, S segment types, E embedding width,
C model width (d_model), F feed-forward width, L layers.
"""

# --8<-- [start:imports]
from dataclasses import dataclass
# --8<-- [end:imports]


# --8<-- [start:spec]
@dataclass(frozen=True)
class EncoderSpec:
    """What fixes an encoder's size. E = None means the embeddings are C wide (no factorisation)."""

    vocab_size: int
    n_layers: int
    d_model: int
    d_ff: int
    max_positions: int = 512
    n_segments: int = 2
    d_embed: int | None = None       # ALBERT / ELECTRA-small: E < C, then a projection E -> C
    shared_layers: bool = False      # ALBERT: one set of layer weights used L times
    pooler: bool = True              # BertModel / RobertaModel / AlbertModel carry a tanh pooler
    published: str = ""              # the size the paper reports, for the page's table


def layer_parameters(C: int, F: int) -> int:
    """One Post-LN encoder layer: W_q, W_k, W_v, W_o with biases, two LayerNorms, the FFN."""
    attn = 4 * C * C + 4 * C
    ffn = C * F + F + F * C + C
    norms = 2 * (2 * C)
    return attn + ffn + norms


def encoder_parameters(s: EncoderSpec) -> int:
    """N = embeddings (+ projection) + L layers (or 1 if shared) + pooler."""
    C, E = s.d_model, s.d_embed or s.d_model
    embeddings = (s.vocab_size + s.max_positions + s.n_segments) * E + 2 * E   # + LayerNorm
    projection = E * C + C if E != C else 0                                   # factorised: V E + E C, not V C
    layers = (1 if s.shared_layers else s.n_layers) * layer_parameters(C, s.d_ff)
    pooler = C * C + C if s.pooler else 0
    return embeddings + projection + layers + pooler
# --8<-- [end:spec]


# --8<-- [start:deberta]
def deberta_parameters(vocab_size: int = 50265, n_layers: int = 12, d_model: int = 768,
                       d_ff: int = 3072, max_relative: int = 512) -> int:
    """DeBERTa (v1) as transformers' DebertaModel builds it: no absolute position table, no
    segments; per layer a fused bias-free W_qkv plus q/v biases, two position projections
    (W_{k,r} without bias, W_{q,r} with), and one relative-position table (2k, C) shared by
    all layers."""
    C = d_model
    embeddings = vocab_size * C + 2 * C
    attn = 3 * C * C + 2 * C + C * C + (C * C + C) + (C * C + C)    # W_qkv, q/v bias, W_kr, W_qr, W_o
    ffn = C * d_ff + d_ff + d_ff * C + C
    layer = attn + ffn + 2 * (2 * C)
    return embeddings + n_layers * layer + 2 * max_relative * C
# --8<-- [end:deberta]


# --8<-- [start:family]
FAMILY: dict[str, EncoderSpec] = {
    "BERT-base": EncoderSpec(30522, 12, 768, 3072, published="110M"),
    "BERT-large": EncoderSpec(30522, 24, 1024, 4096, published="340M"),
    "RoBERTa-base": EncoderSpec(50265, 12, 768, 3072, max_positions=514, n_segments=1,
                                published="125M"),
    "ALBERT-base": EncoderSpec(30000, 12, 768, 3072, d_embed=128, shared_layers=True,
                               published="12M"),
    "ALBERT-large": EncoderSpec(30000, 24, 1024, 4096, d_embed=128, shared_layers=True,
                                published="18M"),
    "ALBERT-xlarge": EncoderSpec(30000, 24, 2048, 8192, d_embed=128, shared_layers=True,
                                 published="60M"),
    "ALBERT-xxlarge": EncoderSpec(30000, 12, 4096, 16384, d_embed=128, shared_layers=True,
                                  published="235M"),
    "DistilBERT": EncoderSpec(30522, 6, 768, 3072, n_segments=0, pooler=False, published="66M"),
    "ELECTRA-small": EncoderSpec(30522, 12, 256, 1024, d_embed=128, pooler=False,
                                 published="14M"),
    "ELECTRA-base": EncoderSpec(30522, 12, 768, 3072, pooler=False, published="110M"),
}
DEBERTA_BASE_PUBLISHED = "—"  # the paper gives no size for its base model
# --8<-- [end:family]
