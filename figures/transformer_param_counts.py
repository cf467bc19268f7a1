"""Where the parameters are, for three models counted from the library's own blocks."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import nn

from snippets.layers.blocks import DecoderBlock, SelfAttentionBlock
from snippets.models.seq2seq import Seq2SeqConfig

PARTS = ("embeddings", "attention", "cross-attention", "FFN", "norms and pooler")


def part_of(name: str) -> str:
    """The component a parameter belongs to, from its module path."""
    if "cross_attn" in name:
        return "cross-attention"
    if "attn" in name:
        return "attention"
    if "ffn" in name:
        return "FFN"
    return "norms and pooler"


def block_parts(block: nn.Module, layers: int) -> dict[str, int]:
    """Parameters of `layers` copies of one block, by component."""
    counts = dict.fromkeys(PARTS, 0)
    for name, p in block.named_parameters():
        counts[part_of(name)] += layers * p.numel()
    return counts


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {part: a[part] + b[part] for part in PARTS}


def components() -> dict[str, dict[str, int]]:
    """Model -> component -> parameters, from one real block of each kind times the depth
    (every layer of a stack is the same module). Embedding rows as in seq2seq's param_count."""
    base = Seq2SeqConfig(vocab_size=37000, d_model=512, n_heads=8, d_ff=2048, n_encoder_layers=6,
                         n_decoder_layers=6, max_len=512, norm_first=False)
    C = base.d_model
    encoder = SelfAttentionBlock(C, base.n_heads, base.d_ff, norm_first=False)
    decoder = DecoderBlock(C, base.n_heads, base.d_ff, norm_first=False)
    counts = {"Transformer base": add(block_parts(encoder, base.n_encoder_layers),
                                      block_parts(decoder, base.n_decoder_layers))}
    counts["Transformer base"]["embeddings"] += base.vocab_size * C  # one table, tied three ways
    gpt2 = block_parts(SelfAttentionBlock(768, 12, 3072), 12)
    gpt2["embeddings"] += (50257 + 1024) * 768          # tokens + positions, output tied
    gpt2["norms and pooler"] += 2 * 768                 # final LayerNorm
    bert = block_parts(SelfAttentionBlock(768, 12, 3072, norm_first=False), 12)
    bert["embeddings"] += (30522 + 512 + 2) * 768 + 2 * 768  # + segments, LayerNorm
    bert["norms and pooler"] += 768 * 768 + 768             # pooler over [CLS]
    counts.update({"GPT-2 small": gpt2, "BERT-base": bert})
    return counts


def draw() -> Figure:
    counts = components()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colours = dict(zip(PARTS, ("#8e8e8e", "#1f5fa8", "#7fb2e5", "#e08a2c", "#2e8b57")))
    names = list(counts)[::-1]  # first model at the top
    left = [0.0] * len(names)
    for part in PARTS:
        widths = [counts[n][part] / 1e6 for n in names]
        ax.barh(names, widths, left=left, color=colours[part], label=part)
        left = [a + b for a, b in zip(left, widths)]
    for y, total in enumerate(left):
        ax.text(total + 1, y, f"{total:.1f}M", va="center", fontsize=12)
    ax.set_xlabel("parameters (millions)", fontsize=13)
    ax.set_xlim(0, max(left) * 1.18)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=12, frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.45, -0.28))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
