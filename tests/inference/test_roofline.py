"""The roofline accounting: forward_cost's FLOPs equal torch's count of the matrix products of a
real cached decoding step, its bytes are the weights and the cache, decode's intensity is about
the batch size (bfloat16) while the cache is short, and the roof is the lower of the two."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from snippets.inference.roofline import forward_cost, roofline
from snippets.models.gpt import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=97, context_length=32, n_layers=2, n_heads=2, d_model=16, attn_impl="ours")
GPT2_SMALL = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)


@pytest.mark.parametrize("batch, past", [(1, 0), (3, 5), (2, 11)])
def test_decode_flops_equal_torchs_count_of_a_cached_step(batch, past):
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    caches = model.new_caches(batch)
    idx = torch.randint(0, CONFIG.vocab_size, (batch, past + 1))
    with torch.inference_mode():
        if past:
            model.logits(idx[:, :past], caches)
        with FlopCounterMode(display=False) as counter:
            model.logits(idx[:, past:], caches, last_only=True)
    assert counter.get_total_flops() == forward_cost(CONFIG, batch, 1, past).flops


def test_bytes_are_the_matrices_read_once_and_the_cache():
    model = GPT(CONFIG)
    matrices = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    batch, new, past = 3, 2, 5
    cache = CONFIG.n_layers * 2 * CONFIG.d_model * batch * (past + new)
    assert forward_cost(CONFIG, batch, new, past, bytes_per_value=2).bytes == 2 * (matrices + cache)


@pytest.mark.parametrize("batch", [1, 4, 16])
def test_decode_intensity_is_about_the_batch_in_bfloat16_while_the_cache_is_short(batch):
    intensity = forward_cost(GPT2_SMALL, batch, 1, 16, bytes_per_value=2).intensity
    assert intensity == pytest.approx(batch, rel=0.05)


def test_a_long_cache_pulls_decode_back_down_and_prefill_grows_with_the_prompt():
    short, long = (forward_cost(GPT2_SMALL, 256, 1, p).intensity for p in (128, 896))
    assert long < short / 4
    prefill = [forward_cost(GPT2_SMALL, 1, t).intensity for t in (8, 128, 1024)]
    assert prefill == sorted(prefill) and prefill[-1] > 100 * forward_cost(GPT2_SMALL, 1, 1, 128).intensity


def test_the_roof_is_the_lower_of_bandwidth_times_intensity_and_the_peak():
    assert roofline(2.0, peak_flops=100.0, bandwidth=10.0) == 20.0
    assert roofline(50.0, peak_flops=100.0, bandwidth=10.0) == 100.0
