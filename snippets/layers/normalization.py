"""LayerNorm (Ba et al., 2016, arXiv:1607.06450) and RMSNorm (Zhang and Sennrich, 2019,
arXiv:1910.07467), from scratch.

Shape legend: B batch, T time, C channels (the normalised dimension).
"""

# --8<-- [start:imports]
import torch
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:layer_norm]
class LayerNorm(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the last dim."""

    def __init__(self, d: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., C) -> (..., C)
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # biased, as in the paper and torch
        y = (x - mean) * torch.rsqrt(var + self.eps) * self.weight
        return y if self.bias is None else y + self.bias
# --8<-- [end:layer_norm]


# --8<-- [start:rms_norm]
class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * weight: no centring, no bias."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., C) -> (..., C)
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight
# --8<-- [end:rms_norm]


def make_norm(kind: str, d: int, eps: float = 1e-5, bias: bool = True) -> nn.Module:
    """A norm layer for a model, by name ('layer' or 'rms').

    Models use torch's single-kernel versions of the classes above (a test proves them
    equal): one dispatch per call instead of seven, which is most of a small model's
    time on a CPU, and a backward pass that does not save every intermediate.
    """
    if kind == "layer":
        return nn.LayerNorm(d, eps=eps, bias=bias)
    if kind == "rms":
        return nn.RMSNorm(d, eps=eps)
    raise ValueError(f"norm must be 'layer' or 'rms', got {kind!r}")
