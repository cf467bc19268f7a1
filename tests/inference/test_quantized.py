"""Weight-only int8/int4 layers and the int8 KV cache: each within its rounding bound of the float
model, and the products equal to the product of the bfloat16-rounded input and the dequantised
weights, to the rounding of a bfloat16 output."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets.inference.quantized import (Int4Linear, Int8KVCache, Int8Linear, dequantize_int4,
                                          dequantize_int8, quantize_int4, quantize_int8,
                                          quantize_linears)
from snippets.models.gpt import GPT, GPTConfig


def weights(rows: int = 50, cols: int = 256) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    # rows of different magnitudes and an off-centre group: what makes per-row, per-group scales pay
    return torch.randn(rows, cols, generator=g) * torch.logspace(-2, 0, rows)[:, None] + 0.05


def test_int8_rounds_each_weight_to_within_half_a_step_of_its_row():
    W = weights()
    q, scale = quantize_int8(W)
    assert q.dtype == torch.int8 and q.abs().max() == 127 and scale.shape == (50,)
    error = (dequantize_int8(q, scale) - W).abs()
    assert (error <= scale[:, None] / 2 + 1e-7).all()
    assert error.max() > scale.min() / 10  # it is a real rounding, not a copy


def test_int4_rounds_each_weight_to_within_half_a_step_of_its_group():
    W = weights()
    q, scale, low = quantize_int4(W, group=64)
    assert q.min() == 0 and q.max() == 15 and scale.shape == low.shape == (50, 4)
    error = (dequantize_int4(q, scale, low) - W).abs().reshape(50, 4, 64)
    assert (error <= scale[..., None] / 2 + 1e-6).all()
    with pytest.raises(ValueError, match="group=100 must be >= 1 and divide C_in=256"):
        quantize_int4(W, group=100)


@pytest.mark.parametrize("bits", [8, 4])
def test_the_quantised_product_equals_the_float_product_of_the_dequantised_weights(bits):
    linear = nn.Linear(256, 50)  # 50 output rows: the int4 kernel's 16-row tiles need padding
    with torch.no_grad():
        linear.weight.copy_(weights())
    x = torch.randn(3, 5, 256, generator=torch.Generator().manual_seed(1))
    if bits == 8:
        layer, W = Int8Linear(linear), dequantize_int8(*quantize_int8(linear.weight.detach()))
    else:
        layer, W = Int4Linear(linear, group=64), dequantize_int4(*quantize_int4(linear.weight.detach(), 64))
    for rows in (x, x[0, :1]):
        # the kernel takes the input rounded to bfloat16, sums in float32, and rounds its output
        # to bfloat16 (8 significant bits): each int8 output within 2^-8 of its size (int8's
        # scales are applied after, in float32); int4's scales and offsets enter the kernel in
        # bfloat16 too, which moves each weight a little more
        exact = F.linear(rows.bfloat16().double(), W.double())
        error = (layer(rows).double() - linear.bias.detach().double() - exact).abs()
        if bits == 8:
            assert (error <= 2.0 ** -8 * exact.abs() + 1e-6).all()
        else:
            assert error.norm() / exact.norm() < 2.0 ** -7
        # and against the float32 input: the input's rounding is the only extra error
        assert (layer(rows) - F.linear(rows, W, linear.bias.detach())).norm() \
            / F.linear(rows, W).norm() < 0.01
    with pytest.raises(ValueError, match="expected float32 input"):
        layer(x.double())


def tiny_gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=64, context_length=32, n_layers=2, n_heads=2, d_model=128)).eval()


@pytest.mark.parametrize("bits", [8, 4])
def test_a_quantised_gpt_stays_close_to_the_float_one_and_keeps_its_float_embedding(bits):
    model = tiny_gpt()
    reference = copy.deepcopy(model)
    assert quantize_linears(model, bits) == 13  # six per block and the head
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert model.wte.weight.dtype == torch.float32  # the tied head got its own quantised copy
    idx = torch.randint(0, 64, (2, 32), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, exact = model(idx)[0], reference(idx)[0]
    relative = (ours - exact).norm() / exact.norm()
    # a weight's rounding error is about step / sqrt(12): 1/127 of its row's largest weight for
    # int8, about a third of a standard deviation over 15 for int4's Gaussian groups of 128
    assert relative < (0.02 if bits == 8 else 0.25)  # measured: about 0.011 and 0.14
    assert model.generate(idx[:1, :4], 5).shape == (1, 9)
    with pytest.raises(ValueError, match="bits must be 8 or 4, got 3"):
        quantize_linears(reference, 3)


def test_the_int8_kv_cache_holds_about_a_quarter_of_the_bytes_and_barely_moves_the_logits():
    model = tiny_gpt()
    c = model.config
    idx = torch.randint(0, 64, (2, 20), generator=torch.Generator().manual_seed(3))
    D = c.d_model // c.n_heads
    caches = [Int8KVCache(2, c.n_heads, c.context_length, D) for _ in range(c.n_layers)]
    with torch.no_grad():
        exact = model.logits(idx)
        prefill = model.logits(idx[:, :12], caches)
        steps = [model.logits(idx[:, t:t + 1], caches) for t in range(12, 20)]
    ours = torch.cat([prefill, *steps], dim=1)
    assert (ours - exact).norm() / exact.norm() < 0.01
    float_bytes = sum(t.numel() * 4 for t in (model.new_caches(2)[0].k, model.new_caches(2)[0].v))
    assert caches[0].nbytes() / float_bytes == (D + 4) / (4 * D)
    with pytest.raises(ValueError, match="KV cache holds 32 positions; appending 13 to 20"):
        caches[0].append(*[torch.zeros(2, c.n_heads, 13, D)] * 2)


def test_int8_activations_multiply_integers_exactly_then_rescale():
    linear = nn.Linear(256, 50)
    x = torch.randn(7, 256, generator=torch.Generator().manual_seed(4))
    layer = Int8Linear(linear, activations="int8")
    q_x, s_x = quantize_int8(x)
    # int32 sums are exact: the only error is the two roundings, then float32's
    want = F.linear(dequantize_int8(q_x, s_x).double(), dequantize_int8(layer.q, layer.scale).double(),
                    linear.bias.detach().double())
    assert_close(layer(x).double(), want, rtol=1e-5, atol=1e-5)
    exact = linear(x).detach()
    assert (layer(x) - exact).norm() / exact.norm() < 0.03
    with pytest.raises(ValueError, match="activations must be 'bfloat16' or 'int8', got 'int4'"):
        Int8Linear(linear, activations="int4")
