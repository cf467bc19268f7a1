"""Weight-only quantisation for decoding: int8 per output channel, int4 in groups along the input.

A batch-1 decoding step reads every weight once and does one multiply-add with it, so its speed
is the rate at which weights stream from memory (chapter 5's KV-cache section measures it). Fewer
bytes per weight is then a direct speed-up, provided the product reads the small integers from
memory and never writes a float copy of the whole matrix back to it. PyTorch's CPU kernels for
this (aten's _weight_int8pack_mm, _weight_int4pack_mm_for_cpu) stream only about 2.5 GB/s at
batch 1 on this guide's machine, a tenth of what float32 reaches, so both layers here dequantise
one tile of output columns at a time into a small float buffer that stays in the CPU's caches and
multiply from there: memory sees one byte (or half a byte) a weight, the float traffic stays on
chip. The quantisation itself, and the packing, are written here: they are the lesson.
The KV cache can shrink the same way: Int8KVCache keeps keys and values as int8 with one scale
per position and head.

Shape legend: C_out output features, C_in input features, g group size, G = C_in / g groups.
"""

# --8<-- [start:imports]
import math

import torch
from torch import nn

from snippets.layers.attention import KVCache
# --8<-- [end:imports]


# --8<-- [start:quantize]
def quantize_int8(W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric absmax per output row: W ≈ q · scale, q in [-127, 127] (int8), scale (C_out,)."""
    if W.dim() != 2:
        raise ValueError(f"W must be a (C_out, C_in) matrix, got shape {tuple(W.shape)}")
    scale = W.abs().amax(dim=1).clamp_min(1e-12) / 127                     # (C_out,)
    q = torch.round(W / scale[:, None]).clamp(-127, 127).to(torch.int8)     # (C_out, C_in)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.to(scale.dtype) * scale[:, None]


def quantize_int4(W: torch.Tensor, group: int = 128) -> tuple[torch.Tensor, torch.Tensor,
                                                               torch.Tensor]:
    """Asymmetric min-max per group of `group` input features: W ≈ q · scale + low, q in 0..15.

    Returns q (C_out, C_in) as int32 (one value per element, packed later), scale and low (C_out, G).
    An offset per group, not only a scale: 16 levels are few, and a group's weights are rarely
    centred on zero, so spanning [min, max] wastes none of them.
    """
    if W.dim() != 2:
        raise ValueError(f"W must be a (C_out, C_in) matrix, got shape {tuple(W.shape)}")
    C_out, C_in = W.shape
    if group < 1 or C_in % group:
        raise ValueError(f"group={group} must be >= 1 and divide C_in={C_in}")
    Wg = W.reshape(C_out, C_in // group, group)                            # (C_out, G, g)
    low, high = Wg.amin(dim=-1), Wg.amax(dim=-1)                            # (C_out, G)
    scale = ((high - low) / 15).clamp_min(1e-12)
    q = torch.round((Wg - low[..., None]) / scale[..., None]).clamp(0, 15)
    return q.reshape(C_out, C_in).to(torch.int32), scale, low


def dequantize_int4(q: torch.Tensor, scale: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    C_out, G = scale.shape
    Wg = q.reshape(C_out, G, -1).to(scale.dtype) * scale[..., None] + low[..., None]
    return Wg.reshape(C_out, -1)
# --8<-- [end:quantize]


# --8<-- [start:int8_layer]
def check_float32(x: torch.Tensor, C_in: int) -> None:
    if x.dtype != torch.float32 or x.shape[-1] != C_in:
        raise ValueError(f"expected float32 input (..., {C_in}), got {x.dtype} {tuple(x.shape)}")


# A tile's float copy: small enough to stay in a CPU's last-level cache (8 MB of float32).
TILE_FLOATS = 1 << 21


class TileBuffer:
    """One float buffer that every Int8Linear of a model dequantises its tiles into, in turn:
    reused, so it stays in cache and is never allocated (and page-faulted in) again."""

    def __init__(self):
        self.floats = torch.empty(0)

    def floats_like(self, *shape: int) -> torch.Tensor:
        """A float32 view of the buffer of this shape, valid until the next call."""
        n = math.prod(shape)
        if self.floats.numel() < n:
            self.floats = torch.empty(n)
        return self.floats[:n].view(shape)

    def dequantised(self, q: torch.Tensor) -> torch.Tensor:
        """q (int8, any shape) as float32, written into the buffer (valid until the next call)."""
        return self.floats_like(*q.shape).copy_(q)


class Int8Linear(nn.Module):
    """nn.Linear with its weight stored as int8 and one float scale per output row.

    activations="float": weight-only; the weights are dequantised a tile of output columns at a
    time into `buffer` and the float input multiplied by them, then each output scaled once.
    activations="int8": each input row is quantised too (absmax, per row, at run time) and the
    product runs on integers with int32 sums, rescaled by both scales (W8A8, as LLM.int8()'s
    vector-wise product without its outlier split).
    """

    def __init__(self, linear: nn.Linear, activations: str = "float",
                 buffer: TileBuffer | None = None):
        super().__init__()
        if activations not in ("float", "int8"):
            raise ValueError(f"activations must be 'float' or 'int8', got {activations!r}")
        q, scale = quantize_int8(linear.weight.detach().float())
        # stored input-major, (C_in, C_out) row-major, as the decoding layout stores floats:
        # a tile of output columns is then C_in short runs, one per input
        self.register_buffer("q", q.t().contiguous().t())   # (C_out, C_in) int8: 1 byte a weight
        self.register_buffer("scale", scale)                  # (C_out,) float32
        self.out_features, self.in_features = q.shape
        self.activations = activations
        self.buffer = buffer or TileBuffer()
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float32(x, self.in_features)
        rows = x.reshape(-1, self.in_features)                                # (M, C_in)
        Q_t = self.q.t()                                                      # (C_in, C_out)
        if self.activations == "float":
            width = max(1, TILE_FLOATS // self.in_features)                   # columns a tile
            y = torch.empty(rows.shape[0], self.out_features)                 # (M, C_out)
            for j in range(0, self.out_features, width):
                y[:, j:j + width] = rows @ self.buffer.dequantised(Q_t[:, j:j + width])
            y *= self.scale
        else:
            q_x, s_x = quantize_int8(rows)                                    # per row of x
            y = torch._int_mm(q_x, Q_t).float() * s_x[:, None] * self.scale
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias
# --8<-- [end:int8_layer]


# --8<-- [start:int4_layer]
class Int4Linear(nn.Module):
    """nn.Linear with its weight stored as int4 (two a byte), a scale and an offset per group.

    Within each group of g inputs, byte i holds input i in its low four bits and input i + g/2 in
    its high four: unpacking a tile writes the two halves of each group into place, so the float
    tile comes out in the inputs' own order. The product runs group by group (a batched product),
    because each group has its own scale and offset per output:
    y = sum over groups of scale · (x_g · q_g) + low · sum(x_g).
    """

    def __init__(self, linear: nn.Linear, group: int = 128, buffer: TileBuffer | None = None):
        super().__init__()
        W = linear.weight.detach().float()
        q, scale, low = quantize_int4(W, group)                    # (C_out, C_in), (C_out, G) x 2
        if group % 2:
            raise ValueError(f"group={group} must be even: two inputs share a byte")
        C_out, C_in = W.shape
        G = C_in // group
        q_t = q.t().reshape(G, 2, group // 2, C_out)               # input-major, each group halved
        self.register_buffer("packed", (q_t[:, 0] | q_t[:, 1] << 4).to(torch.uint8))  # (G, g/2, C_out)
        self.register_buffer("scale_t", scale.t().contiguous())    # (G, C_out)
        self.register_buffer("low_t", low.t().contiguous())        # (G, C_out)
        self.group, self.out_features, self.in_features = group, C_out, C_in
        self.buffer = buffer or TileBuffer()
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float32(x, self.in_features)
        rows = x.reshape(-1, self.in_features)                                 # (M, C_in)
        G, g = self.in_features // self.group, self.group
        x_g = rows.reshape(-1, G, g).transpose(0, 1)                           # (G, M, g)
        x_sums = x_g.sum(-1).t()                                               # (M, G)
        width = max(1, TILE_FLOATS // self.in_features)                        # columns a tile
        y = torch.empty(rows.shape[0], self.out_features)                      # (M, C_out)
        for j in range(0, self.out_features, width):
            half = self.packed[:, :, j:j + width]                              # (G, g/2, n)
            q = self.buffer.floats_like(G, g, half.shape[-1])                  # (G, g, n)
            q[:, :g // 2].copy_(half & 15)                                     # inputs 0 .. g/2 - 1
            q[:, g // 2:].copy_(half >> 4)                                     # inputs g/2 .. g - 1
            per_group = torch.bmm(x_g, q) * self.scale_t[:, None, j:j + width]  # (G, M, n)
            y[:, j:j + width] = per_group.sum(0) + x_sums @ self.low_t[:, j:j + width]
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias
# --8<-- [end:int4_layer]


# --8<-- [start:replace]
def quantize_linears(model: nn.Module, bits: int, group: int = 128,
                     activations: str = "float") -> int:
    """Replace every nn.Linear in model by its int8 or int4 version, in place, for inference
    (activations: Int8Linear's, for bits=8).

    A head tied to the token embedding gets its own quantised copy; the embedding stays float
    (a lookup reads one row a token, so its bytes do not limit a step). Returns the count.
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 8 or 4, got {bits}")
    replaced, buffer = 0, TileBuffer()  # one tile buffer for the whole model
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear(child, activations, buffer) if bits == 8
                        else Int4Linear(child, group, buffer))
                replaced += 1
    return replaced
# --8<-- [end:replace]


# --8<-- [start:kv_int8]
class Int8KVCache(KVCache):
    """A KV cache holding int8 keys and values, one absmax scale per (batch, head, position):
    D + 4 bytes a vector instead of 4·D. Attention reads them dequantised."""

    def __init__(self, batch: int, n_kv_heads: int, max_len: int, d_head: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        shape = (batch, n_kv_heads, max_len, d_head)
        self.k = torch.zeros(shape, dtype=torch.int8, device=device)
        self.v = torch.zeros_like(self.k)
        self.k_scale = torch.zeros(*shape[:3], 1, dtype=dtype, device=device)
        self.v_scale = torch.zeros_like(self.k_scale)                  # (B, H_kv, T_max, 1)
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantise and store the new positions' k, v (B, H_kv, T, D); return all cached so far,
        dequantised."""
        start, end = self.length, self.end_after(k, v)
        for x, q, scale in ((k, self.k, self.k_scale), (v, self.v, self.v_scale)):
            s = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / 127     # (B, H_kv, T, 1)
            q[:, :, start:end] = torch.round(x / s).clamp(-127, 127).to(torch.int8)
            scale[:, :, start:end] = s
        self.length = end
        return (self.k[:, :, :end] * self.k_scale[:, :, :end],                 # (B, H_kv, T_k, D)
                self.v[:, :, :end] * self.v_scale[:, :, :end])

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.k, self.v, self.k_scale, self.v_scale))
# --8<-- [end:kv_int8]
