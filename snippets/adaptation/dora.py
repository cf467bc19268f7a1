"""DoRA: weight-decomposed low-rank adaptation (Liu et al., 2024, arXiv:2402.09353).

W' = m ⊙ (W + ΔW) / ‖W + ΔW‖, with ΔW = (α / r) B A as in LoRA and the norm taken per
output unit (over the input dimension; each row of nn.Linear's (C_out, C_in) weight, the
paper's column norm of its transposed layout). m (C_out,) starts at ‖W‖, so the adapted layer
starts equal to the base. Section 4.3 of the paper treats ‖W + ΔW‖ as a constant in the
backward pass (detached), which saves memory at no loss in accuracy; peft does the same.
LoRA+ (Hayou et al., 2024, arXiv:2402.12354) gives B a learning rate η_B = ratio · η_A.
Shape legend: B batch, T time, C_in / C_out the layer's widths, r the rank.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

from snippets.adaptation.lora import LoRALinear, find_targets, replace_module
# --8<-- [end:imports]


# --8<-- [start:layer]
class DoRALinear(LoRALinear):
    """LoRA's B A for the direction, plus a trainable magnitude m per output unit."""

    def __init__(self, base: nn.Module, r: int, alpha: float, rslora: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__(base, r, alpha, 0.0, rslora, generator)  # no dropout: x feeds both paths
        self.magnitude = nn.Parameter(self.weight_norm().detach())   # (C_out,) = ‖W‖ at B = 0

    def base_weight(self) -> torch.Tensor:
        """W as (C_out, C_in) whatever the base layer's layout."""
        W = self.base.weight
        return W.T if self.transposed else W

    def weight_norm(self) -> torch.Tensor:
        """‖W + ΔW‖ per output unit: (C_out,)."""
        delta = (self.lora_B @ self.lora_A) * self.scaling                  # (C_out, C_in)
        return torch.linalg.norm(self.base_weight() + delta, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merged:
            return self.base(x)
        scale = self.magnitude / self.weight_norm().detach()   # m / ‖W + ΔW‖, norm a constant
        lora = (x @ self.lora_A.T) @ self.lora_B.T * self.scaling            # (B, T, C_out)
        y = scale * (F.linear(x, self.base_weight()) + lora)                 # (B, T, C_out)
        return y if self.base.bias is None else y + self.base.bias

    def delta_weight(self) -> torch.Tensor:
        """W' − W in the base layer's layout, so that LoRALinear.merge adds DoRA's weight."""
        delta = (self.lora_B @ self.lora_A) * self.scaling
        W = self.base_weight()
        scale = (self.magnitude / self.weight_norm())[:, None]               # (C_out, 1)
        change = scale * (W + delta) - W
        return change.T if self.transposed else change

    def unmerge(self) -> None:
        raise RuntimeError("a merged DoRA weight is m ⊙ V / ‖V‖: W cannot be read back from it; "
                           "keep a copy of the base weights if you need to unmerge")


def add_dora(model: nn.Module, targets: list[str], r: int, alpha: float,
             rslora: bool = False, generator: torch.Generator | None = None) -> list[str]:
    """Freeze the model, then wrap every target module in a DoRALinear; returns the names."""
    names = find_targets(model, targets)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        replace_module(model, name, DoRALinear(model.get_submodule(name), r, alpha, rslora,
                                               generator))
    return names
# --8<-- [end:layer]


# --8<-- [start:lora_plus]
def lora_plus_param_groups(model: nn.Module, lr: float, ratio: float = 16.0) -> list[dict]:
    """Optimizer groups for LoRA+: lora_B and 1-D trainables (DoRA's m) at lr · ratio, as
    peft's create_loraplus_optimizer groups them; lora_A and the rest at lr."""
    if lr <= 0 or ratio <= 0:
        raise ValueError(f"lr and ratio must be > 0, got {lr}, {ratio}")
    fast, slow = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (fast if name.endswith("lora_B") or p.ndim == 1 else slow).append(p)
    if not fast:
        raise ValueError("no trainable lora_B parameters: add LoRA or DoRA adapters first")
    return [{"params": slow, "lr": lr, "name": "A"},
            {"params": fast, "lr": lr * ratio, "name": "B"}]
# --8<-- [end:lora_plus]
