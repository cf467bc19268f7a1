"""4-bit NormalFloat (NF4), blockwise absmax quantisation and double quantisation, as in
QLoRA (Dettmers et al., 2023, arXiv:2305.14314).

NF4's 16 levels are quantiles of N(0, 1) rescaled to [−1, 1], with an exact zero: 8 levels
on the positive side and 7 on the negative side. A weight tensor is cut into blocks of 64;
each block is divided by its absolute maximum (stored per block), rounded to the nearest
level and stored as a 4-bit index.
Shape legend: N number of weights, `block` the block size (64), N/block number of blocks.
"""

# --8<-- [start:imports]
import torch
# --8<-- [end:imports]


# --8<-- [start:nf4]
def nf4_levels(offset: float = 0.5 * (1 - 1 / 30 + 1 - 1 / 32)) -> torch.Tensor:
    """The 16 NF4 levels, ascending, in float64.

    Positive side: quantiles of N(0, 1) at 8 evenly spaced probabilities from `offset`
    down to 1/2 (excluded); negative side the same with 7. The default offset is the mean
    of 1 − 1/(2·15) and 1 − 1/(2·16), which keeps the extreme quantile finite (QLoRA's
    0.9677). Dividing by the largest value puts ±1 at the ends and keeps 0 exact.
    """
    def quantiles(n: int) -> torch.Tensor:
        p = torch.linspace(offset, 0.5, n + 1, dtype=torch.float64)[:-1]   # n probabilities
        return torch.special.ndtri(p)                                     # Φ⁻¹(p)

    positive, negative = quantiles(8), -quantiles(7)
    levels = torch.cat([negative, torch.zeros(1, dtype=torch.float64), positive]).sort().values
    return levels / levels.abs().max()                                    # (16,) in [−1, 1]
# --8<-- [end:nf4]


# --8<-- [start:blockwise]
def quantize_blockwise(w: torch.Tensor, levels: torch.Tensor,
                       block: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """w (N,) -> (codes (N,) uint8 in [0, len(levels)), absmax (N/block,)).

    Per block: divide by its absmax (one outlier only spoils its own block), pick the
    nearest level.
    """
    if w.dim() != 1 or w.numel() % block != 0:
        raise ValueError(f"w must be 1-D with a length divisible by block={block}, "
                         f"got shape {tuple(w.shape)}")
    blocks = w.reshape(-1, block)                                         # (N/block, block)
    absmax = blocks.abs().amax(dim=1).clamp_min(torch.finfo(w.dtype).tiny)  # (N/block,)
    normed = blocks / absmax[:, None]                                     # in [−1, 1]
    codes = (normed[..., None] - levels.to(w.dtype)).abs().argmin(dim=-1)  # (N/block, block)
    return codes.reshape(-1).to(torch.uint8), absmax


def dequantize_blockwise(codes: torch.Tensor, absmax: torch.Tensor, levels: torch.Tensor,
                         block: int = 64) -> torch.Tensor:
    """Inverse of quantize_blockwise up to rounding: level[code] · absmax of its block."""
    values = levels.to(absmax.dtype)[codes.long()].reshape(-1, block)     # (N/block, block)
    return (values * absmax[:, None]).reshape(-1)                         # (N,)


def int4_levels() -> torch.Tensor:
    """Uniform symmetric 4-bit levels (absmax scaling): −7/7 … 7/7, 15 used codes."""
    return torch.arange(-7, 8, dtype=torch.float64) / 7
# --8<-- [end:blockwise]


# --8<-- [start:bits]
def bits_per_parameter(bits: int = 4, block: int = 64, absmax_bits: int = 32,
                       double_quant: bool = False, block2: int = 256) -> float:
    """Storage per weight: the code plus its share of the block constants.

    Without double quantisation each block of `block` weights stores one fp32 absmax:
    32/64 = 0.5 bits per weight. Double quantisation stores those absmax values in 8 bits,
    with one fp32 constant per `block2` of them: 8/64 + 32/(64·256) ≈ 0.127 bits.
    """
    if not double_quant:
        return bits + absmax_bits / block
    return bits + 8 / block + 32 / (block * block2)


def weight_memory_gb(n_params: float, bits: float) -> float:
    """Bytes for n_params weights at `bits` each, in GB (10⁹ bytes)."""
    return n_params * bits / 8 / 1e9
# --8<-- [end:bits]
