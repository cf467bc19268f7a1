"""Policy-gradient fine-tuning of a language model: PPO's pieces and GRPO, which drops the critic.

PPO: Schulman et al., 2017 (arXiv:1707.06347), the clipped surrogate objective.
GAE: Schulman et al., 2015 (arXiv:1506.02438), generalised advantage estimation.
GRPO: Shao et al., 2024, DeepSeekMath (arXiv:2402.03300): G answers sampled per prompt, each
answer's advantage its reward normalised within its group, PPO's clipped ratio per token, and a
KL penalty to the frozen reference model estimated per token with the unbiased k3 estimator
  KL ≈ π_ref/π_θ − log(π_ref/π_θ) − 1   (always ≥ 0).
Shape legend: B prompts, G answers per prompt, N = B·G sequences, P prompt length,
L completion length, T time, V vocabulary.
"""

# --8<-- [start:imports]
from collections.abc import Callable
from dataclasses import dataclass

import torch

from snippets.models.gpt import GPT
# --8<-- [end:imports]


# --8<-- [start:advantages]
def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """GRPO's outcome advantage: (r − mean of its group) / (std of its group + eps), (B, G).

    A group whose answers all score alike gets zero advantage: it carries no signal.
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be (B, G) with G >= 2, got {tuple(rewards.shape)}")
    mean = rewards.mean(dim=1, keepdim=True)                           # (B, 1)
    std = rewards.std(dim=1, keepdim=True)                             # (B, 1), unbiased
    return (rewards - mean) / (std + eps)
# --8<-- [end:advantages]


# --8<-- [start:gae]
def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's advantages from a critic: rewards (B, T), values (B, T + 1), the last the value
    after the final step (0 at the end of an episode). Returns advantages and return targets (B, T).

      δ_t = r_t + γ V_{t+1} − V_t,   A_t = δ_t + γλ A_{t+1}   (A_T = 0).
    """
    B, T = rewards.shape
    if values.shape != (B, T + 1):
        raise ValueError(f"values must be (B, T + 1) = {(B, T + 1)}, got {tuple(values.shape)}")
    deltas = rewards + gamma * values[:, 1:] - values[:, :-1]          # (B, T)
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(B, dtype=rewards.dtype)
    for t in reversed(range(T)):  # a backward recursion: each A_t needs A_{t+1}
        running = deltas[:, t] + gamma * lam * running
        advantages[:, t] = running
    return advantages, advantages + values[:, :-1]
# --8<-- [end:gae]


# --8<-- [start:surrogate]
def clipped_surrogate(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                      clip_eps: float = 0.2) -> torch.Tensor:
    """PPO's per-token objective (to maximise): min(ρ A, clip(ρ, 1 − ε, 1 + ε) A), ρ = π_θ/π_old.

    All inputs broadcast to one shape, e.g. (N, L) with advantages (N, 1).
    """
    if not 0 < clip_eps < 1:
        raise ValueError(f"clip_eps must be in (0, 1), got {clip_eps}")
    ratio = torch.exp(logp - logp_old)
    return torch.minimum(ratio * advantages,
                         ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages)
# --8<-- [end:surrogate]


# --8<-- [start:k3]
def k3_kl(logp: torch.Tensor, logp_ref: torch.Tensor) -> torch.Tensor:
    """Per-token estimate of KL(π_θ ‖ π_ref) from tokens sampled from π_θ: x − log x − 1 with
    x = π_ref/π_θ. Unbiased (E[x] = 1 under π_θ) and never negative, unlike log(π_θ/π_ref)."""
    log_x = logp_ref - logp
    return torch.exp(log_x) - log_x - 1
# --8<-- [end:k3]


# --8<-- [start:loss]
def grpo_loss(logp: torch.Tensor, logp_old: torch.Tensor, logp_ref: torch.Tensor,
              advantages: torch.Tensor, mask: torch.Tensor, clip_eps: float = 0.2,
              beta: float = 0.04) -> tuple[torch.Tensor, torch.Tensor]:
    """GRPO's loss (to minimise) and the mean per-token KL: log-probs and mask (N, L),
    advantages (N,). Each answer's tokens are averaged, then the answers (1/G Σ_i 1/|o_i| Σ_t)."""
    if not logp.shape == logp_old.shape == logp_ref.shape == mask.shape:
        raise ValueError(f"log-probs and mask must share one shape, got {tuple(logp.shape)}, "
                         f"{tuple(logp_old.shape)}, {tuple(logp_ref.shape)}, {tuple(mask.shape)}")
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be ({logp.shape[0]},), got {tuple(advantages.shape)}")
    kl = k3_kl(logp, logp_ref)                                          # (N, L)
    per_token = clipped_surrogate(logp, logp_old, advantages[:, None], clip_eps) - beta * kl
    lengths = mask.sum(dim=1).clamp_min(1)                              # (N,)
    per_answer = (per_token * mask).sum(dim=1) / lengths                # (N,)
    mean_kl = ((kl * mask).sum(dim=1) / lengths).mean()
    return -per_answer.mean(), mean_kl.detach()
# --8<-- [end:loss]


# --8<-- [start:sampling]
def completion_mask(completions: torch.Tensor, end: int) -> torch.Tensor:
    """1.0 on each answer's tokens up to and including its first end mark, 0.0 after: (N, L)."""
    is_end = (completions == end).long()                               # (N, L)
    ended_before = is_end.cumsum(dim=1) - is_end                       # ends strictly before t
    return (ended_before == 0).to(torch.get_default_dtype())


def token_logprobs(model: GPT, sequences: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """log π(token) of each completion token given all before it: (N, P + L) -> (N, L)."""
    logits = model(sequences[:, :-1])[0][:, prompt_length - 1:]        # (N, L, V)
    targets = sequences[:, prompt_length:]                             # (N, L)
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]


def sample_groups(model: GPT, prompts: torch.Tensor, group_size: int, max_new_tokens: int,
                  generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
    """G answers per prompt, sampled in one batch: prompts (B, P) -> sequences (B·G, P + L),
    rows b·G .. b·G + G − 1 answering prompt b."""
    batch = prompts.repeat_interleave(group_size, dim=0)               # (B·G, P)
    return model.generate(batch, max_new_tokens, temperature=temperature, generator=generator)
# --8<-- [end:sampling]


# --8<-- [start:step]
@dataclass(frozen=True)
class GRPOConfig:
    group_size: int = 8          # G answers per prompt
    max_new_tokens: int = 6      # L
    clip_eps: float = 0.2        # ε of the clipped ratio
    beta: float = 0.04           # weight of the KL penalty (DeepSeekMath's value); 0 drops it
    inner_steps: int = 2         # μ gradient steps on each batch of samples
    temperature: float = 1.0


Reward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (completions, problems) -> (N,)


def grpo_step(policy: GPT, reference: GPT, optimizer: torch.optim.Optimizer,
              prompts: torch.Tensor, problems: torch.Tensor, reward_fn: Reward, end: int,
              config: GRPOConfig, generator: torch.Generator) -> dict[str, float]:
    """Sample G answers per prompt, score them, and take μ clipped-ratio steps on them."""
    B, P = prompts.shape
    G = config.group_size
    sequences = sample_groups(policy, prompts, G, config.max_new_tokens, generator,
                              config.temperature)                      # (N, P + L)
    completions = sequences[:, P:]                                     # (N, L)
    rewards = reward_fn(completions, problems.repeat_interleave(G, dim=0))          # (N,)
    advantages = group_advantages(rewards.view(B, G)).flatten().to(policy.wte.weight.dtype)
    mask = completion_mask(completions, end).to(advantages.dtype)      # (N, L)
    with torch.no_grad():  # π_old is the policy that sampled; π_ref stays frozen
        logp_old = token_logprobs(policy, sequences, P)
        logp_ref = token_logprobs(reference, sequences, P)
    for _ in range(config.inner_steps):
        loss, kl = grpo_loss(token_logprobs(policy, sequences, P), logp_old, logp_ref,
                             advantages, mask, config.clip_eps, config.beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return {"reward": rewards.mean().item(), "kl": kl.item(), "loss": loss.item()}
# --8<-- [end:step]
