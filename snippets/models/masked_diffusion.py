"""Masked diffusion: an encoder that generates by iterative unmasking.

MDLM (Sahoo et al., 2024, arXiv:2406.07524) and LLaDA (Nie et al., 2025, arXiv:2502.09992):
the forward process hides each token independently with probability t, t ~ U(0, 1); a
bidirectional Transformer (a "mask predictor", BERT's MLM head with a variable rate) is trained
with the cross-entropy at the hidden positions weighted by 1/t, an upper bound on the negative
log-likelihood; sampling starts from an all-[MASK] sequence and reveals it over S steps,
choosing which predictions to keep (LLaDA's low-confidence remasking, or at random), and a
revealed token is never changed again.

Shape legend: B batch, T time, C model width, V vocabulary size (including [MASK]).
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from snippets.models.gpt import GPT, GPTConfig

Denoiser = Callable[[torch.Tensor], torch.Tensor]   # ids (B, T) -> logits (B, T, V)
# --8<-- [end:imports]


# --8<-- [start:forward]
def mask_at_rate(ids: torch.Tensor, t: torch.Tensor, mask_id: int, generator: torch.Generator,
                 eps: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The forward process q(x_t | x_0): each token of row b becomes mask_id with probability
    p_b = (1 - eps) t_b + eps (LLaDA's floor eps keeps 1/p finite). (B, T), (B,) ->
    noisy ids (B, T), masked (B, T) bool, p (B,)."""
    if ids.dim() != 2 or t.shape != ids.shape[:1]:
        raise ValueError(f"need ids (B, T) and t (B,), got {tuple(ids.shape)} and {tuple(t.shape)}")
    if ((t < 0) | (t > 1)).any():
        raise ValueError(f"t must lie in [0, 1], got values from {t.min().item()} to {t.max().item()}")
    if (ids == mask_id).any():
        raise ValueError(f"clean ids already contain the mask id {mask_id}")
    p = (1 - eps) * t + eps                                                # (B,)
    masked = torch.rand(ids.shape, generator=generator) < p[:, None]       # (B, T)
    return ids.masked_fill(masked, mask_id), masked, p
# --8<-- [end:forward]


# --8<-- [start:loss]
def diffusion_loss(logits: torch.Tensor, ids: torch.Tensor, masked: torch.Tensor,
                   p: torch.Tensor) -> torch.Tensor:
    """sum over hidden positions of -log p_theta(x_0^i | x_t) / p_b, divided by B * T:
    per token, the continuous-time bound on -log p(x_0) for the linear schedule alpha_t = 1 - t.
    logits (B, T, V), ids (B, T), masked (B, T), p (B,) -> scalar."""
    B, T = ids.shape
    if logits.shape[:2] != (B, T) or masked.shape != (B, T) or p.shape != (B,):
        raise ValueError(f"logits {tuple(logits.shape)}, masked {tuple(masked.shape)} and p "
                         f"{tuple(p.shape)} do not match ids {tuple(ids.shape)}")
    nll = F.cross_entropy(logits[masked], ids[masked], reduction="none")  # (n_masked,)
    weight = 1.0 / p[:, None].expand(B, T)[masked]                         # (n_masked,)
    return (nll * weight).sum() / (B * T)
# --8<-- [end:loss]


# --8<-- [start:schedule]
def tokens_per_step(n_masked: int, steps: int) -> list[int]:
    """How many positions each of `steps` steps reveals: the linear schedule reveals the same
    expected number a step; the remainder goes to the first steps, as LLaDA's sampler does."""
    if not 1 <= steps <= n_masked:
        raise ValueError(f"steps must be in [1, n_masked={n_masked}], got {steps}")
    base, extra = divmod(n_masked, steps)
    return [base + (k < extra) for k in range(steps)]
# --8<-- [end:schedule]


# --8<-- [start:sample]
@torch.no_grad()
def unmask(denoiser: Denoiser, x: torch.Tensor, mask_id: int, steps: int,
           generator: torch.Generator, temperature: float = 1.0,
           order: str = "confidence") -> tuple[torch.Tensor, torch.Tensor]:
    """Fill every mask_id of x (B, T) in `steps` passes of the denoiser. Each pass proposes a
    token for every hidden position (sampled at `temperature`, argmax at 0) and keeps the
    proposals of the scheduled number of positions: the most confident ones (LLaDA's
    low-confidence remasking) or random ones (order="random"); the rest are masked again.
    Revealed tokens are never changed. Returns the filled ids (B, T) and the step at which
    each position was revealed (B, T), -1 for positions given in x."""
    if order not in ("confidence", "random"):
        raise ValueError(f"order must be 'confidence' or 'random', got {order!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    hidden = x == mask_id                                                  # (B, T)
    counts = hidden.sum(dim=1)
    if (counts != counts[0]).any():
        raise ValueError(f"every row must hide the same number of positions, got {counts.tolist()}")
    schedule = tokens_per_step(int(counts[0]), steps)
    x, revealed_at = x.clone(), torch.full_like(x, -1)
    for step, k in enumerate(schedule):
        logits = denoiser(x).double()                                      # (B, T, V)
        logits[..., mask_id] = float("-inf")                               # never propose [MASK]
        probs = F.softmax(logits, dim=-1)
        if temperature == 0:
            proposal = probs.argmax(dim=-1)                                # (B, T)
        else:
            tempered = F.softmax(logits / temperature, dim=-1)
            proposal = torch.multinomial(tempered.flatten(0, 1), 1, generator=generator).view(x.shape)
        if order == "confidence":
            score = probs.gather(-1, proposal[..., None]).squeeze(-1)      # p(proposal), (B, T)
        else:
            score = torch.rand(x.shape, generator=generator, dtype=torch.float64)
        score = score.masked_fill(x != mask_id, float("-inf"))             # only hidden positions
        keep = score.topk(k, dim=1).indices                                # (B, k)
        rows = torch.arange(x.shape[0])[:, None]
        x[rows, keep] = proposal[rows, keep]
        revealed_at[rows, keep] = step
    return x, revealed_at
# --8<-- [end:sample]


# --8<-- [start:elbo]
@torch.no_grad()
def diffusion_nll_bound(denoiser: Denoiser, ids: torch.Tensor, mask_id: int,
                        generator: torch.Generator, n_t: int = 16) -> float:
    """The bound on -log p(x_0) per token (nats), estimated with n_t stratified times per row:
    t_j = (j + u) / n_t, u ~ U(0, 1), one mask each. An upper bound in expectation: a GPT's exact
    per-token loss on the same windows can only be compared from below."""
    if n_t < 1:
        raise ValueError(f"n_t must be >= 1, got {n_t}")
    total = 0.0
    for j in range(n_t):
        t = (j + torch.rand(ids.shape[0], generator=generator)) / n_t     # (B,)
        noisy, masked, p = mask_at_rate(ids, t, mask_id, generator)
        total += diffusion_loss(denoiser(noisy), ids, masked, p).item()
    return total / n_t
# --8<-- [end:elbo]


# --8<-- [start:model]
class BidirectionalLM(nn.Module):
    """Chapter 9's GPT without its causal mask, one more row for [MASK] (the last id): LLaDA's
    construction, so the two models have the same blocks and, but for one embedding row, the
    same parameters. ids (B, T) -> logits (B, T, V)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.net, self.mask_id = GPT(config), config.vocab_size - 1

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.net.check_ids(ids)
        net, T = self.net, ids.shape[1]
        x = net.drop(net.wte(ids) + net.wpe(torch.arange(T, device=ids.device)))  # (B, T, C)
        for block in net.blocks:
            x = block(x)                                    # every position sees every position
        return net.lm_head(net.ln_f(x))                     # (B, T, V)
# --8<-- [end:model]
