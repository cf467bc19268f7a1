"""Patching raw bytes into variable-length units, as the Byte Latent Transformer does.

Pagnoni et al., "Byte Latent Transformer: Patches Scale Better Than Tokens", 2024
(arXiv:2412.09871), section 2: a small byte-level language model gives the entropy H(x_t) of
its prediction of every byte; a new patch starts at byte t when H(x_t) exceeds a global
threshold, or, in the approximate monotonic variant, when H(x_t) - H(x_{t-1}) exceeds a
relative threshold. MegaByte (Yu et al., 2023, arXiv:2305.07185) cuts fixed-size patches
instead. A patching is the list of start positions; byte 0 always starts a patch.

Shape legend: T bytes, V = 256 byte values.
"""

# --8<-- [start:imports]
import math
from collections.abc import Sequence

import torch
# --8<-- [end:imports]


# --8<-- [start:entropy]
def next_byte_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy in bits of each row's next-byte distribution: (T, V) logits -> (T,)."""
    if logits.dim() != 2:
        raise ValueError(f"logits must be (T, V), got shape {tuple(logits.shape)}")
    log_p = torch.log_softmax(logits.double(), dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1) / math.log(2)
# --8<-- [end:entropy]


# --8<-- [start:helpers]
def check_entropies(entropies: Sequence[float], threshold: float) -> None:
    """Refuse what no patching can use: no bytes, a negative or non-finite entropy or threshold."""
    if len(entropies) == 0:
        raise ValueError("no entropies: a patching needs at least one byte")
    bad = [h for h in entropies if not (math.isfinite(h) and h >= 0)]
    if bad:
        raise ValueError(f"entropies must be finite and >= 0, got {bad[:5]}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")


def fixed_starts(n_bytes: int, patch_size: int) -> list[int]:
    """MegaByte: a patch every patch_size bytes, whatever the bytes say."""
    if n_bytes < 1 or patch_size < 1:
        raise ValueError(f"need n_bytes >= 1 and patch_size >= 1, got {n_bytes}, {patch_size}")
    return list(range(0, n_bytes, patch_size))


def split_patches(data: bytes, starts: Sequence[int]) -> list[bytes]:
    """The patches that the start positions cut data into."""
    if not data or list(starts[:1]) != [0] or any(b <= a for a, b in zip(starts, starts[1:])) \
            or starts[-1] >= len(data):
        raise ValueError(f"starts must begin at 0 and rise strictly inside {len(data)} bytes, "
                         f"got {list(starts)[:10]}")
    ends = list(starts[1:]) + [len(data)]
    return [data[a:b] for a, b in zip(starts, ends)]
# --8<-- [end:helpers]


# --8<-- [start:boundaries]
def global_starts(entropies: Sequence[float], threshold: float) -> list[int]:
    """BLT's global constraint: byte t starts a patch when H(x_t) > threshold."""
    check_entropies(entropies, threshold)
    return [0] + [t for t in range(1, len(entropies)) if entropies[t] > threshold]


def monotonic_starts(entropies: Sequence[float], threshold: float) -> list[int]:
    """BLT's approximate monotonic constraint: byte t starts a patch when the entropy rises
    by more than threshold over the byte before, H(x_t) - H(x_{t-1}) > threshold."""
    check_entropies(entropies, threshold)
    return [0] + [t for t in range(1, len(entropies))
                  if entropies[t] - entropies[t - 1] > threshold]
# --8<-- [end:boundaries]
