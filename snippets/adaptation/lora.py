"""LoRA: low-rank adaptation of a frozen linear layer (Hu et al., 2021, arXiv:2106.09685).

y = x W^T + b + (α / r) · dropout(x) A^T B^T, with A (r, C_in) random and B (C_out, r) zero,
so that the adapted model starts exactly equal to the base model. rsLoRA (Kalajdzievski,
2023, arXiv:2312.03732) scales by α / √r instead of α / r.

Works on nn.Linear (weight (C_out, C_in)) and on GPT-2's Conv1D from transformers, which
stores the transpose (weight (C_in, C_out), y = x W + b): "fan_in_fan_out" in peft's words.
Shape legend: B batch, T time, C_in / C_out the layer's input / output width, r the rank.
"""

# --8<-- [start:imports]
import math
import warnings

import torch
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:layer]
def is_transposed_linear(layer: nn.Module) -> bool:
    """GPT-2's Conv1D (transformers.pytorch_utils) keeps its weight as (C_in, C_out)."""
    return type(layer).__name__ == "Conv1D" and hasattr(layer, "nf")


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update ΔW = (α / r) B A."""

    def __init__(self, base: nn.Module, r: int, alpha: float, dropout: float = 0.0,
                 rslora: bool = False, generator: torch.Generator | None = None):
        super().__init__()
        if not (isinstance(base, nn.Linear) or is_transposed_linear(base)):
            raise TypeError(f"LoRA wraps nn.Linear or GPT-2's Conv1D, got {type(base).__name__}")
        self.transposed = is_transposed_linear(base)
        W = base.weight
        c_in, c_out = (W.shape[0], W.shape[1]) if self.transposed else (W.shape[1], W.shape[0])
        if not 1 <= r <= min(c_in, c_out):  # beyond min(C_in, C_out) the rank cannot grow
            raise ValueError(f"rank r={r} must be in [1, min(C_in={c_in}, C_out={c_out})]")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.base, self.r, self.alpha = base, r, alpha
        self.in_features, self.out_features = c_in, c_out  # read by callers, as on nn.Linear
        for p in base.parameters():
            p.requires_grad_(False)  # the pre-trained weight never changes
        # A like nn.Linear's default init, B zero: ΔW = 0 at step 0 but ∂L/∂B ≠ 0
        self.lora_A = nn.Parameter(torch.empty(r, c_in, dtype=W.dtype, device=W.device))
        self.lora_B = nn.Parameter(torch.zeros(c_out, r, dtype=W.dtype, device=W.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5), generator=generator)
        self.scaling = alpha / math.sqrt(r) if rslora else alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """ΔW in the base layer's own layout: (C_out, C_in), or (C_in, C_out) for Conv1D."""
        delta = (self.lora_B @ self.lora_A) * self.scaling          # (C_out, C_in)
        return delta.T if self.transposed else delta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)                                             # (B, T, C_out)
        if self.merged:  # ΔW already lives inside W: one matmul, no added latency
            return y
        h = self.dropout(x) @ self.lora_A.T                          # (B, T, r)
        return y + (h @ self.lora_B.T) * self.scaling                # (B, T, C_out)

    @torch.no_grad()
    def merge(self, max_lost: float = 0.01) -> float:
        """W ← W + ΔW, added in at least fp32 and rounded once to W's dtype.

        Returns the fraction of ΔW's non-zero entries that the rounding erased (W unchanged)
        and warns above max_lost. In bf16 every |Δw| under half a unit in the last place of w
        vanishes, however precisely the sum was formed; keep the adapter unmerged or merge
        into fp16/fp32 weights when that fraction matters.
        """
        if self.merged:
            raise RuntimeError("adapter is already merged; merging twice would add ΔW twice")
        if not 0.0 <= max_lost <= 1.0:
            raise ValueError(f"max_lost must be a fraction in [0, 1], got {max_lost}")
        W = self.base.weight
        work = torch.promote_types(W.dtype, torch.float32)  # never add below fp32 or W's own
        delta = self.delta_weight().to(work)
        merged = (W.to(work) + delta).to(W.dtype)
        moved = delta != 0
        lost = ((merged == W) & moved).sum().item() / max(int(moved.sum()), 1)
        W.copy_(merged)
        self.merged = True
        if lost > max_lost:
            warnings.warn(f"merging into {W.dtype} erased {lost:.1%} of ΔW's non-zero entries "
                          f"(max_lost={max_lost:.1%}); serve the adapter unmerged or merge into "
                          f"float16/float32 weights", stacklevel=2)
        return lost

    @torch.no_grad()
    def unmerge(self) -> None:
        """W ← W − ΔW: undoes merge() up to rounding."""
        if not self.merged:
            raise RuntimeError("adapter is not merged; unmerging would subtract ΔW from the base")
        W = self.base.weight
        work = torch.promote_types(W.dtype, torch.float32)
        W.copy_((W.to(work) - self.delta_weight().to(work)).to(W.dtype))
        self.merged = False
# --8<-- [end:layer]


# --8<-- [start:add]
# --8<-- [start:add_targets]
def find_targets(model: nn.Module, targets: list[str]) -> list[str]:
    """Names of modules equal to a target or ending in '.' + target (peft's rule)."""
    names = [name for name, _ in model.named_modules() if name]
    found: list[str] = []
    for target in targets:
        hits = [n for n in names if n == target or n.endswith("." + target)]
        if not hits:
            raise ValueError(f"target module {target!r} matches no module of "
                             f"{type(model).__name__}; some names: {names[:8]}")
        found += [n for n in hits if n not in found]
    return found


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def add_lora(model: nn.Module, targets: list[str], r: int, alpha: float, dropout: float = 0.0,
             rslora: bool = False, generator: torch.Generator | None = None) -> list[str]:
    """Freeze the whole model, then wrap every target module in a LoRALinear; returns names."""
    names = find_targets(model, targets)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        replace_module(model, name, LoRALinear(model.get_submodule(name), r, alpha, dropout,
                                               rslora, generator))
    return names
# --8<-- [end:add_targets]


# --8<-- [start:add_merge]
def lora_layers(model: nn.Module) -> list[LoRALinear]:
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def merge_lora(model: nn.Module, max_lost: float = 0.01) -> list[float]:
    """Merge every adapter; returns the fraction of ΔW each merge erased (see merge)."""
    return [layer.merge(max_lost) for layer in lora_layers(model)]


def unmerge_lora(model: nn.Module) -> None:
    for layer in lora_layers(model):
        layer.unmerge()
# --8<-- [end:add_merge]
# --8<-- [end:add]
