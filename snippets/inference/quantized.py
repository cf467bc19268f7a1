"""Weight-only quantisation for decoding: int8 per output channel, int4 in groups along the input.

A batch-1 decoding step reads every weight once and does one multiply-add with it, so its speed
is the rate at which weights stream from memory (chapter 5's KV-cache section measures it). Fewer
bytes per weight is then a direct speed-up, provided the product reads the small integers and
dequantises them in registers, never writing a float copy of the matrix back to memory. PyTorch
ships such CPU kernels (aten's _weight_int8pack_mm and _weight_int4pack_mm_for_cpu): int8 with
one scale per output row, int4 with a scale and an offset per group of input features. Both are
fast with bfloat16 activations and slow with float32 ones (measured in benchmarks/
bench_quantized.py), so the weight-only layers here run their product in bfloat16, as weight-only
kernels on GPUs do (W8A16, W4A16): inputs rounded to bfloat16, sums in float32, outputs returned
as float32. This module does the quantisation itself, which is the lesson, and hands the product
to them.
The KV cache can shrink the same way: Int8KVCache keeps keys and values as int8 with one scale
per position and head.

Shape legend: C_out output features, C_in input features, g group size, G = C_in / g groups.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
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


class Int8Linear(nn.Module):
    """nn.Linear with its weight stored as int8 and one float scale per output row.

    activations="bfloat16": weight-only (W8A16), the input rounded to bfloat16 times the
    dequantised weights, summed in float32 by aten's kernel.
    activations="int8": each input row is quantised too (absmax, per row, at run time) and the
    product runs on integers with int32 sums, rescaled by both scales (W8A8, as LLM.int8()'s
    vector-wise product without its outlier split).
    """

    def __init__(self, linear: nn.Linear, activations: str = "bfloat16"):
        super().__init__()
        if activations not in ("bfloat16", "int8"):
            raise ValueError(f"activations must be 'bfloat16' or 'int8', got {activations!r}")
        q, scale = quantize_int8(linear.weight.detach().float())
        self.register_buffer("q", q)                      # (C_out, C_in) int8: 1 byte a weight
        self.register_buffer("scale", scale)              # (C_out,) float32
        self.out_features, self.in_features = q.shape
        self.activations = activations
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float32(x, self.in_features)
        rows = x.reshape(-1, self.in_features)                                # (M, C_in)
        if self.activations == "bfloat16":
            # unit scales in the kernel, the float32 scales after: a scale rounded to bfloat16
            # would move every weight of its row by up to 0.4%, as much as int8's own rounding
            unit = torch.ones(self.out_features, dtype=torch.bfloat16)
            y = torch.ops.aten._weight_int8pack_mm(rows.to(torch.bfloat16), self.q, unit)
            y = y.float() * self.scale
        else:
            q_x, s_x = quantize_int8(rows)                                    # per row of x
            y = torch._int_mm(q_x, self.q.t()).float() * s_x[:, None] * self.scale
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias
# --8<-- [end:int8_layer]


# --8<-- [start:int4_layer]
class Int4Linear(nn.Module):
    """nn.Linear with its weight stored as int4 (two a byte), a scale and an offset per group;
    the product in bfloat16 (W4A16), as Int8Linear's weight-only one."""

    def __init__(self, linear: nn.Linear, group: int = 128):
        super().__init__()
        W = linear.weight.detach().float()
        q, scale, low = quantize_int4(W, group)
        C_out = W.shape[0]
        rows = -C_out % 16  # the packed kernel works on 16 output rows at a time: pad with zeros
        q = F.pad(q, (0, 0, 0, rows))
        scale, low = F.pad(scale, (0, 0, 0, rows), value=1.0), F.pad(low, (0, 0, 0, rows))
        # the kernel's convention is w = (q - 8) · scale + zero, so zero = low + 8 · scale
        self.register_buffer("packed", torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1))
        self.register_buffer("scale_and_zero", torch.stack([scale, low + 8 * scale], dim=-1)
                             .transpose(0, 1).contiguous())          # (G, C_out padded, 2)
        self.group, self.out_features, self.in_features = group, C_out, W.shape[1]
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float32(x, self.in_features)
        rows = x.reshape(-1, self.in_features).to(torch.bfloat16)
        y = torch.ops.aten._weight_int4pack_mm_for_cpu(rows, self.packed, self.group,
                                                       self.scale_and_zero.to(torch.bfloat16)).float()
        y = y[:, :self.out_features].reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias
# --8<-- [end:int4_layer]


# --8<-- [start:replace]
def quantize_linears(model: nn.Module, bits: int, group: int = 128,
                     activations: str = "bfloat16") -> int:
    """Replace every nn.Linear in model by its int8 or int4 version, in place, for inference
    (activations: Int8Linear's, for bits=8).

    A head tied to the token embedding gets its own quantised copy; the embedding stays float
    (a lookup reads one row a token, so its bytes do not limit a step). Returns the count.
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 8 or 4, got {bits}")
    replaced = 0
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear(child, activations) if bits == 8
                        else Int4Linear(child, group))
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
