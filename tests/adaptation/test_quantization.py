"""NF4 levels against the QLoRA table, blockwise round trips, bits per parameter."""

import pytest
import torch

from snippets.adaptation.quantization import (
    bits_per_parameter, dequantize_blockwise, int4_levels, nf4_levels, quantize_blockwise,
    weight_memory_gb)

# Dettmers et al. (2023, arXiv:2305.14314), Appendix E: the NF4 data type's 16 values
QLORA_NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
             -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
             0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
             0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
             0.7229568362236023, 1.0]


def test_nf4_levels_match_the_qlora_table():
    levels = nf4_levels()
    assert levels.shape == (16,)
    assert (levels - torch.tensor(QLORA_NF4, dtype=torch.float64)).abs().max() < 1e-6
    assert (levels == 0).sum() == 1 and levels[0] == -1 and levels[-1] == 1


def test_blockwise_round_trip_is_within_half_a_level_gap():
    torch.manual_seed(0)
    w = torch.randn(64 * 50, dtype=torch.float64)
    levels = nf4_levels()
    codes, absmax = quantize_blockwise(w, levels)
    assert codes.dtype == torch.uint8 and codes.max() < 16 and absmax.shape == (50,)
    back = dequantize_blockwise(codes, absmax, levels)
    gap = levels.diff().max()
    assert ((back - w).abs() <= 0.5 * gap * absmax.repeat_interleave(64) + 1e-12).all()
    # the block's maximum itself is exact: it maps to ±1
    idx = w.reshape(-1, 64).abs().argmax(dim=1) + torch.arange(50) * 64
    assert torch.allclose(back[idx], w[idx])


def test_nf4_beats_uniform_int4_on_normal_weights():
    torch.manual_seed(0)
    w = torch.randn(64 * 400, dtype=torch.float64)

    def mse(levels: torch.Tensor) -> float:
        codes, absmax = quantize_blockwise(w, levels)
        return (dequantize_blockwise(codes, absmax, levels) - w).pow(2).mean().item()

    assert mse(nf4_levels()) < 0.85 * mse(int4_levels())


def test_bits_per_parameter_with_and_without_double_quantisation():
    assert bits_per_parameter() == 4.5                        # 32-bit absmax per 64 weights
    dq = bits_per_parameter(double_quant=True)
    assert dq - 4 == pytest.approx(0.127, abs=5e-4)           # QLoRA's 0.127 bits
    assert 0.5 - (dq - 4) == pytest.approx(0.373, abs=5e-4)   # the saving QLoRA quotes
    assert weight_memory_gb(65e9, 16) == pytest.approx(130.0)


def test_bad_block_raises():
    with pytest.raises(ValueError, match="divisible by block=64"):
        quantize_blockwise(torch.randn(100), nf4_levels())
