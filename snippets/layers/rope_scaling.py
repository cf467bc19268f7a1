"""Stretching RoPE past the context it was trained at: four published recipes.

Each returns RoPE's inverse frequencies theta_i (i = 0 .. D/2 - 1; pair i turns by m * theta_i
at position m) and an attention factor that multiplies cos and sin, for a model trained at
`trained_length` positions and run at `factor` times that.

- Position interpolation, PI (Chen et al., 2023, arXiv:2306.15595): every frequency / factor,
  so position factor * m turns as m did: no angle is ever new, but neighbours get closer.
- NTK-aware scaling (bloc97, 2023; the form YaRN's paper, arXiv:2309.00071, section 3.2, writes
  down): base * factor^(D / (D - 2)). The fastest pair keeps its frequency, the slowest is
  divided by exactly factor, and the pairs between are interpolated geometrically.
  Dynamic NTK recomputes that base from the current length instead.
- YaRN (Peng et al., 2023, arXiv:2309.00071): per pair, by how many turns it makes over the
  trained length: pairs that turn more than beta_fast times keep their frequency, those under
  beta_slow turns are interpolated as PI, a linear ramp between; plus attention factor
  0.1 ln(factor) + 1 for the flatter softmax over more keys.
- Llama 3.1's rule (the reference code and configuration of Meta's 3.1 release: factor 8,
  low_freq_factor 1, high_freq_factor 4, trained length 8,192): the same three regions, chosen
  by wavelength against trained_length / low_freq_factor and / high_freq_factor, smoothed
  between, no attention factor.

Shape legend: D head width.
"""

# --8<-- [start:imports]
import math

import torch
# --8<-- [end:imports]


# --8<-- [start:scaling]
def rope_frequencies(d_head: int, base: float = 10000.0) -> torch.Tensor:
    """theta_i = base^(-2i / D), float64, shape (D/2,)."""
    if d_head % 2:
        raise ValueError(f"RoPE rotates pairs of channels: d_head must be even, got {d_head}")
    return base ** (-torch.arange(0, d_head, 2, dtype=torch.float64) / d_head)


def check_factor(factor: float) -> None:
    if not factor >= 1.0:
        raise ValueError(f"factor is the new length over the trained one and must be >= 1, got {factor}")


def position_interpolation(d_head: int, base: float, factor: float) -> tuple[torch.Tensor, float]:
    check_factor(factor)
    return rope_frequencies(d_head, base) / factor, 1.0


def ntk_aware(d_head: int, base: float, factor: float) -> tuple[torch.Tensor, float]:
    check_factor(factor)
    return rope_frequencies(d_head, base * factor ** (d_head / (d_head - 2))), 1.0


def dynamic_ntk(d_head: int, base: float, factor: float, trained_length: int,
                length: int) -> tuple[torch.Tensor, float]:
    """NTK-aware with the factor that the current length needs: unchanged up to trained_length
    (so short inputs run as trained), then growing with length."""
    check_factor(factor)
    stretch = factor * max(length, trained_length) / trained_length - (factor - 1)
    return rope_frequencies(d_head, base * stretch ** (d_head / (d_head - 2))), 1.0


def yarn(d_head: int, base: float, factor: float, trained_length: int, beta_fast: float = 32.0,
         beta_slow: float = 1.0) -> tuple[torch.Tensor, float]:
    check_factor(factor)
    theta = rope_frequencies(d_head, base)

    def pair_turning(turns: float) -> float:  # the (fractional) pair index making `turns` turns
        return d_head * math.log(trained_length / (turns * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(pair_turning(beta_fast)), 0)
    high = min(math.ceil(pair_turning(beta_slow)), d_head - 1)
    if low == high:
        high += 0.001  # a one-pair ramp would divide by zero
    ramp = ((torch.arange(d_head // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    keep = 1 - ramp  # 1: keep the frequency (fast pairs), 0: interpolate as PI (slow pairs)
    return theta * keep + theta / factor * (1 - keep), 0.1 * math.log(factor) + 1.0


def llama3(d_head: int, base: float, factor: float, trained_length: int,
           low_freq_factor: float = 1.0, high_freq_factor: float = 4.0) -> tuple[torch.Tensor, float]:
    check_factor(factor)
    theta = rope_frequencies(d_head, base)
    wavelength = 2 * math.pi / theta
    long_wave = trained_length / low_freq_factor    # longer waves: interpolated as PI
    short_wave = trained_length / high_freq_factor  # shorter waves: kept
    smooth = (trained_length / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)
    between = (1 - smooth) * theta / factor + smooth * theta
    scaled = torch.where(wavelength > long_wave, theta / factor, theta)
    return torch.where((wavelength >= short_wave) & (wavelength <= long_wave), between, scaled), 1.0
# --8<-- [end:scaling]


# --8<-- [start:recipes]
RECIPES = {"linear": position_interpolation, "ntk": ntk_aware, "yarn": yarn, "llama3": llama3}


def scaled_frequencies(d_head: int, base: float, scaling: dict | None) -> tuple[torch.Tensor, float]:
    """theta and the attention factor for a config's rope_scaling, e.g.
    {"type": "yarn", "factor": 4, "trained_length": 64}; None is plain RoPE."""
    if scaling is None:
        return rope_frequencies(d_head, base), 1.0
    params = dict(scaling)
    kind = params.pop("type", None)
    if kind not in RECIPES:
        raise ValueError(f"unknown rope_scaling type {kind!r}; choose one of {sorted(RECIPES)}")
    try:
        return RECIPES[kind](d_head, base, **params)
    except TypeError as error:
        raise ValueError(f"rope_scaling {scaling}: {error}") from None
# --8<-- [end:recipes]
