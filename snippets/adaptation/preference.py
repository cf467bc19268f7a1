"""Supervised fine-tuning with the prompt masked out, and Direct Preference Optimisation.

DPO: Rafailov et al., 2023 (arXiv:2305.18290). With the policy π_θ, the frozen reference
π_ref, a prompt x and a preferred / rejected answer y_w / y_l,
  margin = [log π_θ(y_w|x) − log π_ref(y_w|x)] − [log π_θ(y_l|x) − log π_ref(y_l|x)],
  loss   = −log σ(β · margin).
DPOP (Pal et al., 2024, arXiv:2402.13228, their Eq. 3) subtracts
λ·max(0, log π_ref(y_w|x) − log π_θ(y_w|x)) from the margin inside β and the sigmoid,
  loss   = −log σ(β · (margin − λ·max(0, log π_ref(y_w|x) − log π_θ(y_w|x)))),
so that lowering the chosen answer's likelihood below the reference's is penalised (λ = 50
in the paper's runs).
Shape legend: B batch (of pairs), T time, V vocabulary.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:sft]
IGNORE = -100  # F.cross_entropy's default ignore_index


def sft_targets(ids: torch.Tensor, prompt_lengths: torch.Tensor) -> torch.Tensor:
    """Next-token targets (B, T−1) for ids (B, T) with the prompt's positions set to IGNORE.

    Target t is ids[t+1]; it belongs to the answer when t + 1 >= prompt length.
    """
    B, T = ids.shape
    if prompt_lengths.shape != (B,):
        raise ValueError(f"prompt_lengths must be ({B},), got {tuple(prompt_lengths.shape)}")
    if (prompt_lengths < 1).any() or (prompt_lengths >= T).any():
        raise ValueError(f"each prompt length must be in [1, {T - 1}] so that an answer "
                         f"token remains, got {prompt_lengths.tolist()}")
    targets = ids[:, 1:].clone()                                       # (B, T−1)
    position = torch.arange(1, T, device=ids.device)                   # index of each target
    targets[position[None, :] < prompt_lengths[:, None]] = IGNORE
    return targets


def sft_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over answer tokens only; logits (B, T−1, V), targets (B, T−1)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE)
# --8<-- [end:sft]


# --8<-- [start:logprob]
def sequence_logprob(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum of log p(target) over the non-ignored positions: (B, T, V), (B, T) -> (B,)."""
    keep = targets != IGNORE                                           # (B, T)
    logp = torch.log_softmax(logits, dim=-1)                           # (B, T, V)
    picked = logp.gather(-1, targets.clamp_min(0)[..., None])[..., 0]  # (B, T)
    return (picked * keep).sum(dim=-1)
# --8<-- [end:logprob]


# --8<-- [start:dpo]
def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, beta: float = 0.1,
             dpop_lambda: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean DPO (or DPOP) loss and the per-pair margins; all inputs are (B,) log-probs."""
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if dpop_lambda < 0:
        raise ValueError(f"dpop_lambda must be >= 0 (0 is plain DPO), got {dpop_lambda}")
    shapes = {t.shape for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)}
    if len(shapes) != 1:
        raise ValueError(f"all four log-prob tensors must have one shape, got {shapes}")
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)   # (B,)
    penalty = dpop_lambda * (ref_chosen - policy_chosen).clamp_min(0)          # DPOP term
    return -F.logsigmoid(beta * (margin - penalty)).mean(), margin


def check_pairs(chosen: torch.Tensor, rejected: torch.Tensor) -> None:
    """A pair whose answers are identical carries no preference (its margin is always 0)."""
    if chosen.shape != rejected.shape:
        return
    same = (chosen == rejected).reshape(chosen.shape[0], -1).all(dim=1)
    if same.any():
        raise ValueError(f"pairs {same.nonzero().flatten().tolist()} have identical chosen "
                         f"and rejected answers; DPO cannot learn from them")
# --8<-- [end:dpo]
