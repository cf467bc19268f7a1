"""The bytes-vs-BPE benchmark's scoring: every held-out token after the first counted once,
entropies aligned with the bytes they predict, thresholds that give the asked patch rate."""

import math

import pytest
import torch

from benchmarks.bench_bytes_vs_bpe import ByteTokenizer, entropies_of, held_out_nats, threshold_for
from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.byte_patching import next_byte_entropy


def uniform_gpt(V: int, T: int) -> GPT:
    """A GPT whose every prediction is uniform: zero embeddings give zero logits."""
    model = GPT(GPTConfig(vocab_size=V, context_length=T, n_layers=1, n_heads=1, d_model=8))
    with torch.no_grad():
        model.wte.weight.zero_()  # tied to the head: every logit is 0
    return model


@pytest.mark.parametrize("n", [2, 9, 8 * 64 + 1, 8 * 64 + 2, 3 * 8 * 64 + 5])
def test_held_out_nats_scores_every_token_after_the_first_exactly_once(n):
    model = uniform_gpt(V=11, T=8)
    ids = torch.randint(0, 11, (n,), generator=torch.Generator().manual_seed(n))
    assert held_out_nats(model, ids) == pytest.approx((n - 1) * math.log(11), rel=1e-6)


def test_entropy_of_byte_t_comes_from_the_bytes_before_it():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=256, context_length=8, n_layers=1, n_heads=1, d_model=8))
    data = "To be, or not to be".encode()
    h = entropies_of(model, data)
    assert len(h) == len(data)
    # byte 10 is predicted from the newline and bytes 0-9, in the window that starts at byte 8
    window = torch.tensor([list(b"\n" + data)[8:11]])
    expected = next_byte_entropy(model(window)[0][0])[-1].item()
    assert h[10] == pytest.approx(expected, rel=1e-6)
    uniform = entropies_of(uniform_gpt(V=256, T=8), data)
    assert uniform == pytest.approx([8.0] * len(data))


def test_threshold_lets_the_asked_share_of_values_through():
    values = [float(v) for v in torch.randperm(1000, generator=torch.Generator().manual_seed(1))]
    for rate in (0.25, 0.5, 0.1):
        threshold = threshold_for(values, rate)
        assert sum(v > threshold for v in values) == round(rate * len(values))


def test_byte_tokenizer_is_utf8():
    assert ByteTokenizer().encode("añ€") == [97, 0xC3, 0xB1, 0xE2, 0x82, 0xAC]
