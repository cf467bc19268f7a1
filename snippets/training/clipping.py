"""Gradient clipping by global norm and by value (Pascanu, Mikolov & Bengio, 2013,
arXiv:1211.5063, section 3.2: rescale the gradient when its norm exceeds a threshold).

Written to match torch.nn.utils.clip_grad_norm_ exactly, including what it does with a
non-finite norm (by default it scales every gradient by max_norm / (nan or inf), so a
single inf or nan poisons the step unless the caller checks the returned norm).
"""

# --8<-- [start:imports]
from collections.abc import Iterable

import torch
# --8<-- [end:imports]


# --8<-- [start:clip_norm]
def clip_grad_norm(parameters: Iterable[torch.Tensor], max_norm: float,
                   error_if_nonfinite: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """Scale all gradients by min(1, max_norm / (||g|| + eps)), ||g|| the L2 norm of every
    gradient concatenated. Keeps the direction; returns the norm before clipping."""
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # The norm of the per-tensor norms is the norm of the concatenation.
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(f"the total gradient norm is {total.item()}; refusing to clip")
    scale = torch.clamp(max_norm / (total + eps), max=1.0)
    for g in grads:
        g.mul_(scale.to(g.dtype))
    return total
# --8<-- [end:clip_norm]


# --8<-- [start:clip_value]
def clip_grad_value(parameters: Iterable[torch.Tensor], clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value]. Changes the direction."""
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(-clip_value, clip_value)
# --8<-- [end:clip_value]
