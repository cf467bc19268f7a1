"""Learning-rate schedule: linear warm-up, then cosine decay to a floor.

Warm-up (Goyal et al., 2017, arXiv:1706.02677) keeps the first, badly-scaled Adam steps small;
the cosine (Loshchilov & Hutter, SGDR, 2016, arXiv:1608.03983, without restarts) anneals smoothly.
"""

# --8<-- [start:imports]
import math
# --8<-- [end:imports]


# --8<-- [start:lr_at]
def lr_at(step: int, *, max_lr: float, min_lr: float, warmup_steps: int, total_steps: int) -> float:
    """Learning rate for optimiser step `step` (0-based).

    step < warmup: max_lr * (step + 1) / warmup; then a half cosine from max_lr down to
    min_lr at total_steps; min_lr after that.
    """
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"need 0 <= warmup_steps <= total_steps, got {warmup_steps}, {total_steps}")
    if not 0.0 <= min_lr <= max_lr:
        raise ValueError(f"need 0 <= min_lr <= max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)  # 0 -> 1
    return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
# --8<-- [end:lr_at]
