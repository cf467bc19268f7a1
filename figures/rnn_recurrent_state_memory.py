"""Decoding memory per sequence against context length: a KV cache grows with every token, a
linear-attention state and a selective SSM's state do not (snippets.layers.attention.kv_cache_bytes,
snippets.layers.linear_attention.linear_state_bytes, snippets.layers.ssm.ssm_state_bytes), for
one 32-layer, width-4096 shape in fp16."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snippets.layers.attention import kv_cache_bytes
from snippets.layers.linear_attention import linear_state_bytes
from snippets.layers.ssm import ssm_state_bytes

LAYERS, HEADS, D_HEAD = 32, 32, 128          # LLaMA-2-7B's attention shape
SSM_LAYERS, D_INNER, D_STATE = 64, 8192, 16  # Mamba's: two blocks a layer, expansion 2, N = 16
CONTEXTS = [2**i for i in range(0, 18)]      # 1 .. 131,072 tokens


def curves() -> dict[str, list[float]]:
    """MiB per sequence at each context length, by decoding state."""
    mib = 2**20
    linear = linear_state_bytes(LAYERS, HEADS, D_HEAD) / mib
    ssm = ssm_state_bytes(SSM_LAYERS, D_INNER, D_STATE) / mib
    return {
        "KV cache (softmax attention)": [kv_cache_bytes(LAYERS, HEADS, D_HEAD, tokens=t) / mib
                                         for t in CONTEXTS],
        "linear attention state (S and z)": [linear] * len(CONTEXTS),
        "selective SSM state (h)": [ssm] * len(CONTEXTS),
    }


def draw() -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, values), style in zip(curves().items(), ["-", "--", ":"]):
        ax.plot(CONTEXTS, values, style, lw=2.2, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("tokens in the context T", fontsize=13)
    ax.set_ylabel("decoding memory per sequence (MiB)", fontsize=13)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=11, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
