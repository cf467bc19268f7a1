"""Continuous batching over the paged cache: every request's greedy tokens equal running it
alone with GPT.generate, its float64 logits equal one forward pass over its whole sequence, with
and without chunked prefill; every block returns to the pool; a freed slot is refilled at once;
static batching (the baseline, left-padded) also equals running alone; bad input is refused by name."""

import pytest
import torch

from snippets.inference.batching import ContinuousBatcher, Request, static_batch
from snippets.models.gpt import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=50, context_length=64, n_layers=2, n_heads=2, d_model=32)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    try:
        return GPT(CONFIG).eval()
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.fixture(scope="module")
def requests() -> list[Request]:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 24, (10,), generator=g).tolist()
    news = torch.randint(1, 30, (10,), generator=g).tolist()
    return [Request(torch.randint(0, 50, (n,), generator=g).tolist(), m) for n, m in zip(lengths, news)]


def alone(model: GPT, request: Request) -> list[int]:
    out = model.generate(torch.tensor([request.prompt]), request.max_new_tokens, temperature=0.0)
    return out[0, len(request.prompt):].tolist()


@pytest.mark.parametrize("prefill_chunk", [None, 5])
@pytest.mark.parametrize("max_batch", [1, 4])
def test_each_request_gets_what_it_would_get_alone(model, requests, prefill_chunk, max_batch):
    server = ContinuousBatcher(model, n_blocks=24, block_size=4, max_batch=max_batch,
                               prefill_chunk=prefill_chunk, keep_logits=True)
    ids = [server.submit(r) for r in requests]
    out = server.run()
    assert [out[i] for i in ids] == [alone(model, r) for r in requests]
    with torch.inference_mode():
        for i, r in zip(ids, requests):
            seq = server.finished[i]
            full = model.logits(torch.tensor([r.prompt + seq.out[:-1]]))[0, len(r.prompt) - 1:]
            torch.testing.assert_close(torch.stack(seq.logits), full, rtol=0, atol=1e-12)
    assert server.cache.pool.n_free == 24 and server.cache.tables == {}   # every block returned
    assert max(server.blocks_held) <= 24


def test_a_freed_slot_is_refilled_at_the_next_step(model):
    """Batch of 2: one request of 10 tokens, then three of 2; the short ones pass through the
    second slot while the long one runs, so the whole trace takes the long one's 10 steps."""
    server = ContinuousBatcher(model, n_blocks=16, block_size=4, max_batch=2)
    for n in (10, 2, 2, 2):
        server.submit(Request([1, 2, 3], n))
    server.run()
    assert len(server.blocks_held) == 10


def test_memory_is_held_per_block_not_per_window(model):
    server = ContinuousBatcher(model, n_blocks=16, block_size=4, max_batch=1)
    server.submit(Request(list(range(5)), 3))                     # 5 + 3 - 1 = 7 positions
    server.run()
    assert server.blocks_held == [2, 2, 2]                          # ceil(6 / 4), ceil(7 / 4) ...


def test_admission_waits_for_blocks(model):
    """A pool of 4 blocks of 4 holds one 16-position request at a time: the second waits."""
    server = ContinuousBatcher(model, n_blocks=4, block_size=4, max_batch=2)
    for _ in range(2):
        server.submit(Request(list(range(8)), 9))                  # 16 positions, 4 blocks
    server.step()
    assert len(server.running) == 1 and len(server.waiting) == 1
    out = server.run()
    assert out[0] == out[1] and max(server.blocks_held) == 4


def test_static_batching_gives_the_same_tokens(model, requests):
    tokens, positions = static_batch(model, requests[:5])
    assert tokens == [alone(model, r) for r in requests[:5]]
    longest = max(len(r.prompt) for r in requests[:5]) + max(r.max_new_tokens for r in requests[:5])
    assert positions == 5 * (longest - 1)


@pytest.mark.parametrize("request_, message", [
    (Request([], 3), "empty"),
    (Request([1, 2], 0), "max_new_tokens must be >= 1"),
    (Request([1, 99], 3), r"token ids \[99\] are outside \[0, 50\)"),
    (Request(list(range(40)), 30), "40 tokens \\+ max_new_tokens=30 exceeds context_length 64"),
])
def test_bad_requests_are_refused(model, request_, message):
    with pytest.raises(ValueError, match=message):
        ContinuousBatcher(model, n_blocks=64, block_size=4).submit(request_)
    with pytest.raises(ValueError, match=message):
        static_batch(model, [request_])


def test_a_request_larger_than_the_pool_is_refused(model):
    server = ContinuousBatcher(model, n_blocks=2, block_size=4)
    with pytest.raises(ValueError, match="needs 3 blocks of 4 positions; the pool has only 2"):
        server.submit(Request(list(range(6)), 4))


def test_bad_settings_are_refused(model):
    with pytest.raises(ValueError, match="max_batch must be >= 1"):
        ContinuousBatcher(model, n_blocks=4, max_batch=0)
    with pytest.raises(ValueError, match="prefill_chunk must be >= 1"):
        ContinuousBatcher(model, n_blocks=4, prefill_chunk=0)
