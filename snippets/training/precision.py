"""Mixed precision: autocast for the forward pass, float32 weights and optimiser state.

Micikevicius et al., "Mixed Precision Training", 2017 (arXiv:1710.03740): 16-bit matrix
products, a float32 master copy of the weights, and loss scaling so that float16 gradients
do not underflow. bfloat16 keeps float32's 8 exponent bits and needs no scaling.
"""

# --8<-- [start:imports]
from contextlib import nullcontext
from typing import ContextManager

import torch
# --8<-- [end:imports]


# --8<-- [start:precision]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def check_precision(name: str, device: str) -> torch.dtype:
    """The autocast dtype called `name`, refused where it cannot train well."""
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; choose one of {sorted(DTYPES)}")
    kind = torch.device(device).type
    if name == "float16" and kind != "cuda":
        raise ValueError(f"--dtype float16 needs a CUDA device (fast float16 kernels and a "
                         f"gradient scaler), not {kind!r}; use --dtype bfloat16 on {kind!r}")
    if name == "bfloat16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("--dtype bfloat16: this GPU has no bfloat16 support; use float16")
    return DTYPES[name]


def autocast(device_type: str, dtype: torch.dtype) -> ContextManager:
    """Matrix products in `dtype`, reductions (softmax, the loss) in float32; float32 is a no-op."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type, dtype=dtype)


def make_scaler(dtype: torch.dtype, device_type: str) -> torch.amp.GradScaler | None:
    """float16 only: its 5 exponent bits lose small gradients unless the loss is scaled up."""
    return torch.amp.GradScaler(device_type) if dtype == torch.float16 else None
# --8<-- [end:precision]


# --8<-- [start:underflow]
def flushed_to_zero(values: torch.Tensor, dtype: torch.dtype, scale: float = 1.0) -> float:
    """Fraction of the non-zero float64 `values` that become 0 when `scale * values` is cast
    to `dtype`: the gradients a backward pass in that dtype would lose."""
    nonzero = values[values != 0]
    return ((nonzero * scale).to(dtype) == 0).double().mean().item()
# --8<-- [end:underflow]
