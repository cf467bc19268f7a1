"""Decoding strategies for a language model's next-token logits: greedy, temperature,
top-k, top-p (nucleus; Holtzman et al., 2019, arXiv:1904.09751), min-p (Nguyen et al., 2024,
arXiv:2407.01082), the CTRL repetition penalty (Keskar et al., 2019, arXiv:1909.05858) and beam search.

Shape legend: B batch (or N beams), T time, V vocabulary size.
"""

# --8<-- [start:imports]
import math
from collections.abc import Callable

import torch
# --8<-- [end:imports]


# --8<-- [start:check]
# Below this, T > 0 is greedy in all but name and logits / T can overflow float32 (1e-45 does).
MIN_TEMPERATURE = 1e-3


def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None,
                        repetition_penalty: float = 1.0, min_p: float | None = None) -> None:
    """Reject settings that have no meaning, naming the value."""
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), "
                         f"got {temperature}")
    if 0 < temperature < MIN_TEMPERATURE:  # logits / T would overflow to inf, softmax to NaN
        raise ValueError(f"temperature {temperature} is below {MIN_TEMPERATURE}; "
                         "use 0 for greedy decoding")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:  # also refuses NaN
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p}")
    if min_p is not None and not 0.0 <= min_p <= 1.0:  # also refuses NaN
        raise ValueError(f"min_p must be in [0, 1] or None, got {min_p}")
    if not (math.isfinite(repetition_penalty) and repetition_penalty > 0):
        raise ValueError(f"repetition_penalty must be a finite number > 0 (1 = off), "
                         f"got {repetition_penalty}")
# --8<-- [end:check]


# --8<-- [start:repetition_penalty]
def apply_repetition_penalty(logits: torch.Tensor, prev: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty on every token already in prev (B, T): logits (B, V) -> (B, V).

    CTRL divides the logit by the penalty; a negative logit would then rise, so (as in
    transformers) negative logits are multiplied instead: both make the token less likely.
    """
    if penalty == 1.0:
        return logits
    seen = logits.gather(1, prev)                                      # (B, T)
    seen = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits.scatter(1, prev, seen)                               # repeats write equal values
# --8<-- [end:repetition_penalty]


# --8<-- [start:top_k]
def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep exactly the k largest logits per row (ties broken by index), -inf elsewhere."""
    k = min(k, logits.shape[-1])
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep.scatter_(-1, logits.topk(k, dim=-1).indices, True)           # (B, V)
    return logits.masked_fill(~keep, float("-inf"))
# --8<-- [end:top_k]


# --8<-- [start:top_p]
def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability mass reaches p."""
    if p >= 1.0:
        return logits
    probs, order = torch.softmax(logits, dim=-1).sort(dim=-1, descending=True)  # (B, V)
    mass_before = probs.cumsum(dim=-1) - probs      # mass of the tokens ranked above each one
    keep_sorted = mass_before < p                   # the top token always stays (0 < p)
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)  # back to vocab order
    return logits.masked_fill(~keep, float("-inf"))
# --8<-- [end:top_p]


# --8<-- [start:min_p]
def min_p_filter(logits: torch.Tensor, p_min: float) -> torch.Tensor:
    """Keep the tokens whose probability is at least p_min times the most likely one's."""
    probs = torch.softmax(logits, dim=-1)                               # (B, V)
    threshold = p_min * probs.amax(dim=-1, keepdim=True)                # (B, 1): follows the model's confidence
    return logits.masked_fill(probs < threshold, float("-inf"))         # the top token always stays
# --8<-- [end:min_p]


# --8<-- [start:distribution]
def next_token_probs(logits: torch.Tensor, prev: torch.Tensor | None = None, *,
                     temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None, repetition_penalty: float = 1.0,
                     min_p: float | None = None) -> torch.Tensor:
    """The distribution a sampler draws from: logits (B, V) -> probabilities (B, V).

    Order: repetition penalty, temperature, top-k, top-p, min-p (transformers' order too).
    Temperature 0 is greedy: all mass on the arg-max (after the penalty).
    """
    check_sampling_args(temperature, top_k, top_p, repetition_penalty, min_p)
    if prev is not None:
        logits = apply_repetition_penalty(logits, prev, repetition_penalty)
    if temperature == 0:
        greedy = logits.argmax(dim=-1, keepdim=True)                   # (B, 1)
        return torch.zeros_like(logits).scatter(-1, greedy, 1.0)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if min_p is not None:
        logits = min_p_filter(logits, min_p)
    return torch.softmax(logits, dim=-1)


def sample_next(logits: torch.Tensor, prev: torch.Tensor | None = None, *,
                temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                repetition_penalty: float = 1.0, min_p: float | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row: logits (B, V) -> token ids (B,)."""
    probs = next_token_probs(logits, prev, temperature=temperature, top_k=top_k, top_p=top_p,
                             repetition_penalty=repetition_penalty, min_p=min_p)
    if temperature == 0:  # no draw: deterministic and consumes no randomness
        return probs.argmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
# --8<-- [end:distribution]


# --8<-- [start:beam_search]
LogProbFn = Callable[[torch.Tensor], torch.Tensor]  # sequences (N, T) -> next-token log-probs (N, V)


def beam_search(next_log_probs: LogProbFn, prompt: torch.Tensor, max_new_tokens: int,
                beam_width: int) -> tuple[torch.Tensor, float]:
    """Keep the beam_width highest-scoring continuations at every step; return the best
    sequence (T + max_new_tokens,) and its summed log-probability given the prompt (T,)."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if prompt.dim() != 1 or prompt.numel() == 0:
        raise ValueError(f"prompt must be a non-empty 1-D tensor, got shape {tuple(prompt.shape)}")
    beams = prompt.unsqueeze(0)                                        # (1, T)
    scores = torch.zeros(1)                                            # (N,) log p(continuation)
    for _ in range(max_new_tokens):
        candidates = scores.unsqueeze(1) + next_log_probs(beams)       # (N, V)
        V = candidates.shape[1]
        best, flat = candidates.flatten().topk(min(beam_width, candidates.numel()))
        parent, token = flat // V, flat % V                            # which beam, which token
        beams = torch.cat([beams[parent], token.unsqueeze(1)], dim=1)  # (N', T + 1)
        scores = best
    return beams[0], float(scores[0])                                  # topk sorts: best first


def sequence_log_prob(next_log_probs: LogProbFn, prompt: torch.Tensor,
                      continuation: torch.Tensor) -> float:
    """log p(continuation | prompt), summed token by token (teacher forcing)."""
    seq = torch.cat([prompt, continuation]).unsqueeze(0)               # (1, T + n)
    total = 0.0
    for i in range(prompt.numel(), seq.shape[1]):
        total += float(next_log_probs(seq[:, :i])[0, seq[0, i]])
    return total
# --8<-- [end:beam_search]
