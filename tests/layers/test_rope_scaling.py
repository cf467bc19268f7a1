"""RoPE context extension: our frequencies and attention factors against transformers'
ROPE_INIT_FUNCTIONS, and a scaled Llama against transformers' LlamaForCausalLM.

transformers computes these frequencies in float32 (an explicit dtype in each function), so
agreement is to float32's precision, about 1e-7 relative; ours are float64.
"""
import math
from dataclasses import replace

import pytest
import torch
import transformers
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from snippets.layers.positional import RotaryEmbedding
from snippets.layers.rope_scaling import (dynamic_ntk, llama3, ntk_aware, position_interpolation,
                                          rope_frequencies, scaled_frequencies, yarn)
from snippets.models.llama import from_hf_llama, llama_config_from_hf

D, BASE, TRAINED = 64, 10000.0, 256


def hf_config(rope: dict, max_positions: int = 4 * TRAINED, d_head: int = D) -> transformers.LlamaConfig:
    return transformers.LlamaConfig(
        vocab_size=61, hidden_size=4 * d_head, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
        rope_parameters={"rope_theta": BASE, **rope}, bos_token_id=None, eos_token_id=None,
        pad_token_id=None)


def theirs(rope: dict, seq_len: int | None = None) -> tuple[torch.Tensor, float]:
    inv_freq, factor = ROPE_INIT_FUNCTIONS[rope["rope_type"]](hf_config(rope), "cpu", seq_len)
    return inv_freq.double(), factor


@pytest.mark.parametrize("factor", [2.0, 4.0, 8.0])
def test_each_recipe_equals_transformers(factor):
    cases = [
        (position_interpolation(D, BASE, factor), {"rope_type": "linear", "factor": factor}),
        (yarn(D, BASE, factor, TRAINED), {"rope_type": "yarn", "factor": factor,
                                           "original_max_position_embeddings": TRAINED}),
        (yarn(D, BASE, factor, TRAINED, beta_fast=16, beta_slow=2),
         {"rope_type": "yarn", "factor": factor, "original_max_position_embeddings": TRAINED,
          "beta_fast": 16, "beta_slow": 2}),
        (llama3(D, BASE, factor, TRAINED), {"rope_type": "llama3", "factor": factor,
                                             "original_max_position_embeddings": TRAINED,
                                             "low_freq_factor": 1.0, "high_freq_factor": 4.0}),
    ]
    for (ours, our_factor), rope in cases:
        want, want_factor = theirs(rope)
        torch.testing.assert_close(ours, want, rtol=3e-7, atol=0, msg=str(rope))
        assert our_factor == pytest.approx(want_factor, rel=1e-12)
    assert yarn(D, BASE, factor, TRAINED)[1] == pytest.approx(0.1 * math.log(factor) + 1)


def test_dynamic_ntk_equals_transformers_and_static_ntk_is_its_fixed_point():
    for length in (TRAINED // 2, TRAINED, 3 * TRAINED):
        rope = {"rope_type": "dynamic", "factor": 4.0}
        ours, _ = dynamic_ntk(D, BASE, 4.0, 4 * TRAINED, length)
        torch.testing.assert_close(ours, theirs(rope, seq_len=length)[0], rtol=3e-7, atol=0)
    # at or below the trained length dynamic NTK is plain RoPE ...
    torch.testing.assert_close(dynamic_ntk(D, BASE, 4.0, TRAINED, TRAINED)[0], rope_frequencies(D, BASE))
    # ... and static NTK with factor s is dynamic NTK (factor 1) at s times the trained length
    torch.testing.assert_close(ntk_aware(D, BASE, 4.0)[0], dynamic_ntk(D, BASE, 1.0, TRAINED, 4 * TRAINED)[0])


def test_what_each_recipe_does_to_the_fastest_and_slowest_pairs():
    plain = rope_frequencies(D, BASE)
    pi, ntk = position_interpolation(D, BASE, 4)[0], ntk_aware(D, BASE, 4)[0]
    torch.testing.assert_close(pi, plain / 4)                       # every pair slowed 4-fold
    assert ntk[0] == plain[0]                                        # NTK: the fastest pair kept
    assert ntk[-1].item() == pytest.approx(plain[-1].item() / 4, rel=1e-12)  # the slowest: 4-fold
    for scaled in (yarn(D, BASE, 4, TRAINED)[0], llama3(D, BASE, 4, TRAINED)[0]):
        assert scaled[0] == plain[0] and scaled[-1].item() == pytest.approx(plain[-1].item() / 4)
        assert torch.all(scaled <= plain) and torch.all(scaled >= plain / 4 * (1 - 1e-12))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="must be >= 1, got 0.5"):
        position_interpolation(D, BASE, 0.5)
    with pytest.raises(ValueError, match="unknown rope_scaling type 'longrope'"):
        scaled_frequencies(D, BASE, {"type": "longrope", "factor": 2})
    with pytest.raises(ValueError, match="trained_length"):
        scaled_frequencies(D, BASE, {"type": "yarn", "factor": 2})
    with pytest.raises(ValueError, match="theta must hold d_head / 2 = 32"):
        RotaryEmbedding(D, theta=torch.ones(16))


@pytest.mark.parametrize("rope", [
    {"rope_type": "linear", "factor": 4.0},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16},
    {"rope_type": "llama3", "factor": 4.0, "original_max_position_embeddings": 16,
     "low_freq_factor": 1.0, "high_freq_factor": 4.0},
], ids=lambda r: r["rope_type"])
def test_a_scaled_llama_equals_transformers_past_its_trained_length(rope):
    """The whole model, scaled frequencies and YaRN's attention factor included, at 64 positions
    for a model 'trained' at 16; float32 frequencies in the reference bound the agreement."""
    config = hf_config(rope, max_positions=64, d_head=8)
    torch.manual_seed(0)
    reference = transformers.LlamaForCausalLM(config).double().eval()
    ours = from_hf_llama(reference.state_dict(), llama_config_from_hf(config)).eval()
    assert ours.config.rope_scaling["type"] == rope["rope_type"]
    idx = torch.randint(0, 61, (2, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = reference(idx).logits
        got, _ = ours(idx)
    assert (got - want).abs().max() <= 1e-5
    unscaled = replace(llama_config_from_hf(config), rope_scaling=None)
    with torch.no_grad():
        plain, _ = from_hf_llama(reference.state_dict(), unscaled).eval()(idx)
    assert (plain - want).abs().max() > 1e-4  # 10x the tolerance: the scaling is what agrees
