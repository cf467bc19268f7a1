"""KV cache size against context length for a batch of 32 (snippets.layers.attention.kv_cache_bytes),
against the fp16 weights of LLaMA-2-7B."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.layers.attention import kv_cache_bytes

BATCH = 32
CONFIGS = {  # name: (layers, KV heads, head width), as on the page
    "LLaMA-2-7B, 32 KV heads": (32, 32, 128),
    "LLaMA-2-70B, 8 KV heads": (80, 8, 128),
    "Mistral 7B, 8 KV heads": (32, 8, 128),
    "LLaMA-2-70B if 1 KV head": (80, 1, 128),
}
CONTEXTS = list(range(0, 4097, 128))


def llama2_7b_weight_gib() -> float:
    """fp16 weights: untied embedding and output, attention, SwiGLU MLP and norms per layer."""
    vocab, width, layers, ffn = 32000, 4096, 32, 11008
    n = 2 * vocab * width + layers * (4 * width**2 + 3 * width * ffn + 2 * width) + width
    return 2 * n / 2**30


def cache_gib(layers: int, kv_heads: int, d_head: int, tokens: int) -> float:
    if tokens == 0:
        return 0.0
    return kv_cache_bytes(layers, kv_heads, d_head, tokens=tokens, batch=BATCH) / 2**30


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (layers, kv_heads, d_head) in CONFIGS.items():
        ax.plot(CONTEXTS, [cache_gib(layers, kv_heads, d_head, t) for t in CONTEXTS],
                lw=2.2, label=name)
    ax.axhline(llama2_7b_weight_gib(), color="black", ls="--", lw=1.2,
               label="LLaMA-2-7B weights (fp16)")
    ax.set_xlabel("context length T (tokens per request)", fontsize=13)
    ax.set_ylabel(f"KV cache, batch of {BATCH} (GiB)", fontsize=13)
    ax.set_xticks([0, 1024, 2048, 3072, 4096])
    ax.set_xlim(0, 4096)
    ax.set_ylim(0, None)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=12, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
