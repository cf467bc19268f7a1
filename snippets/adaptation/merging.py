"""Model merging on task vectors: task arithmetic, TIES and DARE.

A task vector is τ_t = θ_t − θ_base for a model θ_t fine-tuned from θ_base (per tensor of a
state dict). Task arithmetic (Ilharco et al., 2022, arXiv:2212.04089): θ = θ_base + λ Σ_t τ_t.
TIES (Yadav et al., 2023, arXiv:2306.01708): trim each τ_t to its top-k% entries by magnitude,
elect a sign per entry (the sign of the sum of the trimmed values), then average only the
entries that agree with the elected sign (a disjoint mean), θ = θ_base + λ τ_merged.
DARE (Yu et al., 2023, arXiv:2311.03099): drop each entry of τ_t with probability p and
rescale the survivors by 1/(1 − p), so that the expected task vector is unchanged; then merge.
"""

# --8<-- [start:imports]
import torch
# --8<-- [end:imports]

StateDict = dict[str, torch.Tensor]


# --8<-- [start:task_vectors]
def task_vector(base: StateDict, tuned: StateDict) -> StateDict:
    """τ = θ_tuned − θ_base, tensor by tensor."""
    if base.keys() != tuned.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(base.keys() ^ tuned.keys())[:5]}")
    return {name: tuned[name] - base[name] for name in base}


def apply_delta(base: StateDict, delta: StateDict, scale: float = 1.0) -> StateDict:
    """θ = θ_base + λ τ."""
    return {name: base[name] + scale * delta[name] for name in base}


def task_arithmetic(deltas: list[StateDict]) -> StateDict:
    """Σ_t τ_t: the plain sum; interference shows up where the τ_t disagree."""
    if not deltas:
        raise ValueError("give at least one task vector")
    return {name: torch.stack([d[name] for d in deltas]).sum(dim=0) for name in deltas[0]}
# --8<-- [end:task_vectors]


# --8<-- [start:ties]
def trim(delta: torch.Tensor, keep: float) -> torch.Tensor:
    """Zero all but the top `keep` fraction of entries by magnitude (ties at the cut kept)."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    k = max(1, round(keep * delta.numel()))
    threshold = delta.abs().flatten().kthvalue(delta.numel() - k + 1).values
    return torch.where(delta.abs() >= threshold, delta, torch.zeros_like(delta))


def ties_merge(deltas: list[StateDict], keep: float = 0.2) -> StateDict:
    """Trim, elect sign, disjoint mean; returns the merged task vector."""
    if not deltas:
        raise ValueError("give at least one task vector")
    merged: StateDict = {}
    for name in deltas[0]:
        trimmed = torch.stack([trim(d[name], keep) for d in deltas])    # (N_tasks, ...)
        sign = torch.sign(trimmed.sum(dim=0))                           # elected sign per entry
        agrees = (torch.sign(trimmed) == sign) & (trimmed != 0)         # (N_tasks, ...)
        total = (trimmed * agrees).sum(dim=0)
        count = agrees.sum(dim=0)
        merged[name] = torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))
    return merged
# --8<-- [end:ties]


# --8<-- [start:dare]
def dare(delta: StateDict, drop: float, generator: torch.Generator) -> StateDict:
    """Drop each entry with probability `drop`, rescale the rest by 1/(1 − drop)."""
    if not 0.0 <= drop < 1.0:
        raise ValueError(f"drop must be in [0, 1), got {drop}")
    out: StateDict = {}
    for name, d in delta.items():
        survive = torch.rand(d.shape, generator=generator, device=d.device) >= drop
        out[name] = torch.where(survive, d / (1 - drop), torch.zeros_like(d))
    return out
# --8<-- [end:dare]
