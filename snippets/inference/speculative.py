"""Speculative decoding (Leviathan et al., 2023, arXiv:2211.17192; Chen et al., 2023,
arXiv:2302.01318): a small draft model proposes gamma tokens, the target model scores all of
them in one forward pass, and a rejection step keeps a prefix of them, so that the tokens that
come out follow the target's distribution exactly.

Notation as in Leviathan et al.: p is the target's next-token distribution, q the draft's.
Shape legend: T time, V vocabulary size, G the draft length gamma (for one round, at most gamma).
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch

from snippets.layers.attention import KVCache
from snippets.models.gpt import GPT
from snippets.models.sampling import check_sampling_args, next_token_probs
# --8<-- [end:imports]


# --8<-- [start:verify]
def verify_sampled(p: torch.Tensor, q: torch.Tensor, drafted: torch.Tensor,
                   generator: torch.Generator | None = None) -> tuple[int, int]:
    """The rejection step: how many drafted tokens to keep, and the token that follows them.

    p (G + 1, V): the target's distribution at each drafted position and one past the last;
    q (G, V): the draft's distributions, from which drafted (G,) were sampled.
    """
    for i, x in enumerate(drafted.tolist()):
        # accept with probability min(1, p(x) / q(x)); q(x) > 0 because x was drawn from q
        if torch.rand((), dtype=p.dtype, generator=generator) * q[i, x] < p[i, x]:
            continue
        residual = (p[i] - q[i]).clamp(min=0)                # norm(max(0, p - q)): multinomial normalises
        return i, int(torch.multinomial(residual, 1, generator=generator))
    return len(drafted), int(torch.multinomial(p[-1], 1, generator=generator))  # all kept: a bonus token


def verify_greedy(choice: torch.Tensor, drafted: torch.Tensor) -> tuple[int, int]:
    """Greedy decoding's rejection step: keep drafted tokens while they equal the target's
    arg-max choice (G + 1,); the first one that differs is replaced by the target's choice."""
    agree = (choice[:-1] == drafted).long().cumprod(0)          # (G,): 1 until the first mismatch
    n = int(agree.sum())
    return n, int(choice[n])
# --8<-- [end:verify]


# --8<-- [start:generate]
@dataclass
class SpeculativeStats:
    """What one call did: target forward passes, tokens drafted, drafted tokens kept, and
    rounds that ended in a rejection (drafts after a rejection are never tested)."""

    new_tokens: int = 0
    target_calls: int = 0
    drafted: int = 0
    accepted: int = 0
    rejected: int = 0

    @property
    def acceptance_rate(self) -> float:
        """alpha: the share of tested drafts that were kept."""
        return self.accepted / max(self.accepted + self.rejected, 1)

    @property
    def kept_fraction(self) -> float:
        """The share of the draft's work that was kept."""
        return self.accepted / max(self.drafted, 1)

    @property
    def tokens_per_target_call(self) -> float:
        return self.new_tokens / max(self.target_calls, 1)


def check_pair(target: GPT, draft: GPT, prompt: torch.Tensor, max_new_tokens: int,
               gamma: int) -> None:
    """Refuse a pair or a request that speculative decoding cannot serve, naming the values."""
    if target.config.vocab_size != draft.config.vocab_size:
        raise ValueError(f"target and draft must share a vocabulary: vocab_size "
                         f"{target.config.vocab_size} != {draft.config.vocab_size}")
    if gamma < 1:
        raise ValueError(f"gamma (tokens drafted per round) must be >= 1, got {gamma}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    target.check_ids(prompt)
    if prompt.shape[0] != 1:
        raise ValueError(f"speculative decoding here serves one sequence: prompt shape "
                         f"{tuple(prompt.shape)}, batch must be 1")
    window = min(target.config.context_length, draft.config.context_length)
    if prompt.shape[1] + max_new_tokens > window:
        raise ValueError(f"prompt of {prompt.shape[1]} tokens + max_new_tokens={max_new_tokens} "
                         f"exceeds the context_length {window} of the pair (no sliding window here)")


def feed(model: GPT, caches: list[KVCache], tokens: list[int]) -> torch.Tensor:
    """Run the tokens the caches have not seen yet; their logits (T_new, V)."""
    new = torch.tensor([tokens[caches[0].length:]])                     # (1, T_new)
    return model.logits(new, caches)[0]


def rewind(caches: list[KVCache], length: int) -> None:
    """Forget every cached position from `length` on (rejected tokens): later appends overwrite."""
    for cache in caches:
        cache.length = min(cache.length, length)


def speculative_generate(target: GPT, draft: GPT, prompt: torch.Tensor, max_new_tokens: int, *,
                         gamma: int = 4, temperature: float = 1.0, top_k: int | None = None,
                         top_p: float | None = None, min_p: float | None = None,
                         generator: torch.Generator | None = None
                         ) -> tuple[torch.Tensor, SpeculativeStats]:
    """Append max_new_tokens tokens to prompt (1, T), distributed as target.generate's would be
    (identical tokens at temperature 0); returns (1, T + max_new_tokens) and the call's stats."""
    check_pair(target, draft, prompt, max_new_tokens, gamma)
    check_sampling_args(temperature, top_k, top_p, min_p=min_p)
    greedy = temperature == 0

    def probs(logits: torch.Tensor) -> torch.Tensor:  # (G, V) -> (G, V), in float64
        return next_token_probs(logits.double(), temperature=temperature, top_k=top_k,
                                top_p=top_p, min_p=min_p)

    modes = target.training, draft.training
    target.eval()  # no dropout while decoding; both modes are restored after
    draft.eval()
    tokens, end = prompt[0].tolist(), prompt.shape[1] + max_new_tokens
    stats = SpeculativeStats(new_tokens=max_new_tokens)
    try:
        with torch.inference_mode():
            target_caches, draft_caches = target.new_caches(1), draft.new_caches(1)
            while len(tokens) < end:
                g = min(gamma, end - len(tokens) - 1)            # a round adds at most g + 1 tokens
                drafted, q = [], []
                for _ in range(g):                               # the draft runs g steps, one at a time
                    logits = feed(draft, draft_caches, tokens + drafted)[-1]       # (V,)
                    if greedy:
                        drafted.append(int(logits.argmax()))
                    else:
                        q.append(probs(logits[None])[0])
                        drafted.append(int(torch.multinomial(q[-1], 1, generator=generator)))
                # the target scores the last accepted token and every drafted one in one pass
                logits = feed(target, target_caches, tokens + drafted)[-(g + 1):]  # (G + 1, V)
                if greedy:
                    n, nxt = verify_greedy(logits.argmax(-1), torch.tensor(drafted, dtype=torch.long))
                else:
                    q_all = torch.stack(q) if q else torch.empty(0, 0)  # (G, V); unread when G = 0
                    n, nxt = verify_sampled(probs(logits), q_all,
                                            torch.tensor(drafted, dtype=torch.long), generator)
                tokens += drafted[:n] + [nxt]
                rewind(target_caches, len(tokens) - 1)           # the caches hold all but the newest
                rewind(draft_caches, len(tokens) - 1)
                stats.target_calls += 1
                stats.drafted += g
                stats.accepted += n
                stats.rejected += n < g
    finally:
        target.train(modes[0])
        draft.train(modes[1])
    return torch.tensor([tokens]), stats
# --8<-- [end:generate]


# --8<-- [start:expected]
def expected_tokens_per_call(alpha: float, gamma: int) -> float:
    """E[tokens per target call] = (1 - alpha^(gamma+1)) / (1 - alpha), alpha the acceptance rate."""
    if not 0.0 <= alpha <= 1.0 or gamma < 0:
        raise ValueError(f"need 0 <= alpha <= 1 and gamma >= 0, got alpha={alpha}, gamma={gamma}")
    return float(gamma + 1) if alpha == 1.0 else (1 - alpha ** (gamma + 1)) / (1 - alpha)


def expected_speedup(alpha: float, gamma: int, c: float) -> float:
    """Wall-clock speed-up over plain decoding when a draft step costs c target steps and the
    target scores gamma + 1 positions in the time of one (Leviathan et al., Theorem 3.8)."""
    if c < 0:
        raise ValueError(f"cost ratio c must be >= 0, got {c}")
    return expected_tokens_per_call(alpha, gamma) / (gamma * c + 1)
# --8<-- [end:expected]
