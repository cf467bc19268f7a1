"""Preference losses after DPO: IPO, KTO, SimPO and ORPO, beside DPO in preference.py.

All take summed sequence log-probabilities log π(y|x) of shape (B,), as
preference.sequence_logprob returns them; SimPO and ORPO also need each answer's length in
tokens, to average.
- IPO (Azar et al., 2023, arXiv:2310.12036): regress the log-ratio margin h onto 1/(2τ),
  loss = (h − 1/(2τ))², instead of pushing σ(β h) towards 1 without limit.
- KTO (Ethayarajh et al., 2024, arXiv:2402.01306): unpaired answers marked desirable or not;
  r = log π/π_ref, reference point z0 = max(0, mean KL estimate), not back-propagated,
  v = λ_D σ(β(r − z0)) or λ_U σ(β(z0 − r)), loss = mean(λ_y − v).
- SimPO (Meng et al., 2024, arXiv:2405.14734): no reference model; the reward is the average
  log-probability per token, loss = −log σ(β/|y_w| log π(y_w) − β/|y_l| log π(y_l) − γ).
- ORPO (Hong et al., 2024, arXiv:2403.07691): one stage, the SFT loss plus
  λ · −log σ(log odds(y_w) − log odds(y_l)), odds(y) = P / (1 − P), P = exp(mean log-prob).
Shape legend: B batch (of pairs, or of single answers for KTO).
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:checks]
def check_same_shape(**tensors: torch.Tensor) -> None:
    """Log-probabilities of one batch share one shape; say which differ."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"inputs must share one shape, got {shapes}")
# --8<-- [end:checks]


# --8<-- [start:ipo]
def ipo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             tau: float = 0.1) -> torch.Tensor:
    """Mean of (h − 1/(2τ))², h the DPO margin of log-ratios; all inputs (B,)."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    check_same_shape(policy_chosen=policy_chosen, policy_rejected=policy_rejected,
                ref_chosen=ref_chosen, ref_rejected=ref_rejected)
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)   # (B,)
    return ((h - 1 / (2 * tau)) ** 2).mean()  # a target margin, not "as large as possible"
# --8<-- [end:ipo]


# --8<-- [start:kto]
def kto_reference_point(policy_mismatched: torch.Tensor,
                        ref_mismatched: torch.Tensor) -> torch.Tensor:
    """z0: the batch's estimate of KL(π‖π_ref), from answers paired with other prompts.

    Clamped at 0 (a KL is never negative) and detached: the paper does not back-propagate it.
    """
    check_same_shape(policy_mismatched=policy_mismatched, ref_mismatched=ref_mismatched)
    return (policy_mismatched - ref_mismatched).mean().clamp_min(0).detach()


def kto_loss(policy: torch.Tensor, ref: torch.Tensor, desirable: torch.Tensor,
             z0: torch.Tensor, beta: float = 0.1, lambda_d: float = 1.0,
             lambda_u: float = 1.0) -> torch.Tensor:
    """Mean of λ_y − v(x, y) over single answers (B,), each desirable (True) or not."""
    if beta <= 0 or lambda_d <= 0 or lambda_u <= 0:
        raise ValueError(f"beta, lambda_d, lambda_u must be > 0, got {beta}, {lambda_d}, "
                         f"{lambda_u}")
    check_same_shape(policy=policy, ref=ref, desirable=desirable)
    if desirable.dtype != torch.bool:
        raise ValueError(f"desirable must be a bool tensor, got {desirable.dtype}")
    r = policy - ref                                                      # (B,)
    gain = lambda_d * torch.sigmoid(beta * (r - z0))      # desirable: above the reference point
    avoided = lambda_u * torch.sigmoid(beta * (z0 - r))   # undesirable: below it
    v = torch.where(desirable, gain, avoided)
    lam = torch.where(desirable, torch.full_like(r, lambda_d), torch.full_like(r, lambda_u))
    return (lam - v).mean()
# --8<-- [end:kto]


# --8<-- [start:simpo]
def simpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
               len_chosen: torch.Tensor, len_rejected: torch.Tensor,
               beta: float = 2.0, gamma: float = 0.5) -> torch.Tensor:
    """−log σ(β·mean log π(y_w) − β·mean log π(y_l) − γ); no reference model. Inputs (B,)."""
    if beta <= 0 or gamma < 0:
        raise ValueError(f"beta must be > 0 and gamma >= 0, got {beta}, {gamma}")
    check_same_shape(policy_chosen=policy_chosen, policy_rejected=policy_rejected,
                len_chosen=len_chosen, len_rejected=len_rejected)
    if (len_chosen <= 0).any() or (len_rejected <= 0).any():
        raise ValueError("answer lengths must be >= 1 token")
    reward_chosen = beta * policy_chosen / len_chosen         # per-token: length cannot buy reward
    reward_rejected = beta * policy_rejected / len_rejected
    return -F.logsigmoid(reward_chosen - reward_rejected - gamma).mean()
# --8<-- [end:simpo]


# --8<-- [start:orpo]
def log_odds(mean_logprob: torch.Tensor) -> torch.Tensor:
    """log(P / (1 − P)) from log P < 0, computed as log P − log(1 − exp(log P))."""
    if (mean_logprob >= 0).any():
        raise ValueError("mean log-probabilities must be < 0 (P < 1) for the odds to be finite")
    return mean_logprob - torch.log(-torch.expm1(mean_logprob))


def orpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
              len_chosen: torch.Tensor, len_rejected: torch.Tensor,
              lam: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(SFT NLL on y_w + λ · odds-ratio loss, the odds-ratio loss alone); inputs (B,)."""
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    check_same_shape(policy_chosen=policy_chosen, policy_rejected=policy_rejected,
                len_chosen=len_chosen, len_rejected=len_rejected)
    mean_chosen = policy_chosen / len_chosen              # log P of the paper: per-token mean
    mean_rejected = policy_rejected / len_rejected
    odds_ratio_loss = -F.logsigmoid(log_odds(mean_chosen) - log_odds(mean_rejected)).mean()
    sft = -mean_chosen.mean()                             # the usual per-token NLL on y_w
    return sft + lam * odds_ratio_loss, odds_ratio_loss
# --8<-- [end:orpo]
