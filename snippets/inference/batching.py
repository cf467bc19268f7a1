"""Serving many requests at once with our GPT: continuous batching over a paged KV cache
(Yu et al., 2022, "Orca", iteration-level scheduling; Kwon et al., 2023, vLLM), with optional
chunked prefill (Agrawal et al., 2023, "SARATHI", arXiv:2308.16369), and static batching,
the baseline it replaces. Greedy decoding throughout: outputs are comparable token for token.

Shape legend: B batch, T time, V vocabulary size, S block size.
"""

# --8<-- [start:imports]
from dataclasses import dataclass, field

import torch

from snippets.inference.paged_cache import PagedKVCache
from snippets.layers.attention import KVCache
from snippets.layers.weight_layout import prepare_for_decoding
from snippets.models.gpt import GPT
# --8<-- [end:imports]


# --8<-- [start:request]
@dataclass
class Request:
    """A prompt and how many tokens to generate for it (a stand-in for an end-of-text token)."""

    prompt: list[int]
    max_new_tokens: int


def serving(model: GPT) -> bool:
    """eval() and, as GPT.generate does, the weights laid out for products of a few rows
    (snippets.layers.weight_layout; same values). Returns whether the model was training, for
    model.train(...) afterwards, which restores the training layout."""
    was_training = model.training
    model.eval()
    if model.decoding_layout:
        with torch.no_grad():
            prepare_for_decoding(model)
    return was_training


def check_request(model: GPT, request: Request) -> None:
    """Refuse a request that no schedule could serve, naming the values."""
    if not request.prompt:
        raise ValueError("a request needs a prompt of at least one token, got an empty one")
    if request.max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {request.max_new_tokens}")
    bad = [t for t in request.prompt if not 0 <= t < model.config.vocab_size]
    if bad:
        raise ValueError(f"token ids {bad[:10]} are outside [0, {model.config.vocab_size})")
    need = len(request.prompt) + request.max_new_tokens
    if need > model.config.context_length:
        raise ValueError(f"prompt of {len(request.prompt)} tokens + max_new_tokens="
                         f"{request.max_new_tokens} exceeds context_length "
                         f"{model.config.context_length} (no sliding window here)")
# --8<-- [end:request]


# --8<-- [start:scheduler]
@dataclass
class Sequence:
    """A request being served: prompt tokens fed so far, tokens generated, and (when kept)
    the logits each generated token was chosen from."""

    id: int
    request: Request
    fed: int = 0
    out: list[int] = field(default_factory=list)
    logits: list[torch.Tensor] = field(default_factory=list)

    @property
    def cache_need(self) -> int:
        """Positions the cache must hold over the whole request (the last token is never fed)."""
        return len(self.request.prompt) + self.request.max_new_tokens - 1

    @property
    def done(self) -> bool:
        return len(self.out) == self.request.max_new_tokens


class ContinuousBatcher:
    """Each step: admit waiting requests while a batch slot and blocks are free, feed each new
    request's prompt (or its next chunk), run one decoding step for every sequence whose prompt is
    in, retire finished sequences and return their blocks to the pool.

    No preemption: a request is admitted only if the blocks it will ever need are not promised
    to another one; blocks are still taken one at a time as the sequence grows.
    """

    def __init__(self, model: GPT, n_blocks: int, block_size: int = 16, max_batch: int = 8,
                 prefill_chunk: int | None = None, keep_logits: bool = False):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if prefill_chunk is not None and prefill_chunk < 1:
            raise ValueError(f"prefill_chunk must be >= 1 or None, got {prefill_chunk}")
        c = model.config
        self.model, self.max_batch, self.prefill_chunk = model, max_batch, prefill_chunk
        self.cache = PagedKVCache(c.n_layers, c.n_heads, c.d_model // c.n_heads, n_blocks,
                                  block_size, dtype=model.wte.weight.dtype)
        self.keep_logits = keep_logits
        self.waiting: list[Sequence] = []
        self.running: list[Sequence] = []
        self.finished: dict[int, Sequence] = {}
        self.promised = 0            # blocks the running sequences may still come to hold
        self.blocks_held: list[int] = []  # after each step: for the memory measurement

    def submit(self, request: Request) -> int:
        """Queue a request; returns its id (the order of submission)."""
        check_request(self.model, request)
        seq = Sequence(len(self.waiting) + len(self.running) + len(self.finished), request)
        if self.cache.blocks_for(seq.cache_need) > self.cache.pool.n_blocks:
            raise ValueError(f"request needs {self.cache.blocks_for(seq.cache_need)} blocks of "
                             f"{self.cache.block_size} positions; the pool has only "
                             f"{self.cache.pool.n_blocks}")
        self.waiting.append(seq)
        return seq.id

    def admit(self) -> None:
        while self.waiting and len(self.running) < self.max_batch:
            need = self.cache.blocks_for(self.waiting[0].cache_need)
            if self.promised + need > self.cache.pool.n_blocks:
                break                             # first come, first served: no overtaking
            seq = self.waiting.pop(0)
            self.promised += need
            self.cache.add(seq.id)
            self.running.append(seq)

    def emit(self, seq: Sequence, logits: torch.Tensor) -> None:  # logits (V,)
        seq.out.append(int(logits.argmax()))
        if self.keep_logits:
            seq.logits.append(logits.clone())

    def prefill(self, seq: Sequence) -> None:
        """Feed the prompt, or its next chunk, of one sequence: a (1, T) pass over its blocks."""
        prompt = seq.request.prompt
        end = len(prompt) if self.prefill_chunk is None else min(len(prompt), seq.fed + self.prefill_chunk)
        self.cache.reserve(seq.id, end - seq.fed)
        logits = self.model.logits(torch.tensor([prompt[seq.fed:end]]), self.cache.layers([seq.id]),
                                   last_only=True)                        # (1, 1, V)
        self.cache.advance([seq.id], end - seq.fed)
        seq.fed = end
        if seq.fed == len(prompt):                # the prompt is in: its last logits give token 1
            self.emit(seq, logits[0, -1])

    def decode(self, batch: list[Sequence]) -> None:
        """One new token for every sequence in batch: a (B, 1) pass with per-row positions."""
        ids = [s.id for s in batch]
        for seq in batch:
            self.cache.reserve(seq.id, 1)
        layers = self.cache.layers(ids)
        idx = torch.tensor([[s.out[-1]] for s in batch])                 # (B, 1)
        positions = layers[0].starts[:, None]                            # (B, 1)
        logits = self.model.logits(idx, layers, positions=positions,
                                   mask=layers[0].key_mask(1))           # (B, 1, V)
        self.cache.advance(ids, 1)
        for seq, row in zip(batch, logits[:, -1], strict=True):
            self.emit(seq, row)

    def step(self) -> None:
        self.admit()
        ready = [s for s in self.running if s.fed == len(s.request.prompt) and not s.done]
        for seq in self.running:
            if seq.fed < len(seq.request.prompt):
                self.prefill(seq)
        if ready:
            self.decode(ready)
        self.blocks_held.append(self.cache.pool.n_blocks - self.cache.pool.n_free)
        for seq in [s for s in self.running if s.done]:   # retire: blocks back to the pool
            self.running.remove(seq)
            self.cache.release(seq.id)
            self.promised -= self.cache.blocks_for(seq.cache_need)
            self.finished[seq.id] = seq

    def run(self) -> dict[int, list[int]]:
        """Step until every submitted request is finished; {id: generated tokens}."""
        was_training = serving(self.model)
        try:
            with torch.inference_mode():
                while self.waiting or self.running:
                    self.step()
        finally:
            self.model.train(was_training)
        return {i: s.out for i, s in sorted(self.finished.items())}
# --8<-- [end:scheduler]


# --8<-- [start:static]
def static_batch(model: GPT, requests: list[Request]) -> tuple[list[list[int]], int]:
    """The baseline: one batch, prompts left-padded to the longest, one contiguous cache of
    B x (longest prompt + most new tokens - 1) positions, and decoding until the longest request
    is done (finished rows keep computing). Returns each request's tokens and the positions held."""
    for request in requests:
        check_request(model, request)
    B = len(requests)
    lengths = torch.tensor([len(r.prompt) for r in requests])            # (B,)
    P, N = int(lengths.max()), max(r.max_new_tokens for r in requests)
    pad = P - lengths                                                    # (B,) pads in front
    idx = torch.zeros(B, P, dtype=torch.long)
    for b, r in enumerate(requests):
        idx[b, int(pad[b]):] = torch.tensor(r.prompt)                    # (B, P), left-padded
    c = model.config
    caches = [KVCache(B, c.n_heads, P + N - 1, c.d_model // c.n_heads, dtype=model.wte.weight.dtype)
              for _ in range(c.n_layers)]
    keep = torch.arange(P + N - 1)[None] >= pad[:, None]                 # (B, P + N - 1): no pads
    # a pad position attends to itself only, so that no row of the mask is empty; no real
    # position ever attends to a pad, and what pads compute is never read
    prefill_mask = keep[:, None, None, :P] | torch.eye(P, dtype=torch.bool)        # (B, 1, P, P)
    positions = (torch.arange(P)[None] - pad[:, None]).clamp(min=0)                # (B, P)
    out = []
    was_training = serving(model)
    try:
        with torch.inference_mode():
            logits = model.logits(idx, caches, last_only=True, positions=positions,
                                  mask=prefill_mask)                                # (B, 1, V)
            for step in range(N):
                out.append(logits[:, -1].argmax(-1))                                # (B,)
                if step < N - 1:
                    logits = model.logits(out[-1][:, None], caches,
                                          positions=(lengths + step)[:, None],
                                          mask=keep[:, None, None, :P + step + 1])  # (B, 1, V)
    finally:
        model.train(was_training)
    tokens = torch.stack(out, dim=1).tolist()                                       # (B, N)
    return [t[:r.max_new_tokens] for t, r in zip(tokens, requests, strict=True)], B * (P + N - 1)
# --8<-- [end:static]
