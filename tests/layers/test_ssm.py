"""The selective SSM: the associative scan equals the step-by-step recurrence, the layer's
decoding step equals its parallel form, Mamba-2's SSD matrix form equals its recurrence and
Mamba-1's scan with a scalar A; hand-computed cases; bad input."""

import math

import pytest
import torch

from snippets.layers.ssm import (SelectiveSSM, discretise, linear_recurrence_scan,
                                 selective_scan_parallel, selective_scan_sequential, ssd_mask,
                                 ssd_matrix, ssd_recurrent, ssm_state_bytes)

B, T, C, N = 2, 13, 5, 4   # T = 13: not a power of two, so the scan's last round is partial


def random_ssm(seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, C, generator=g, dtype=torch.float64)
    delta = torch.rand(B, T, C, generator=g, dtype=torch.float64) + 0.01
    A = -torch.rand(C, N, generator=g, dtype=torch.float64) * 3
    Bm, Cm = (torch.randn(B, T, N, generator=g, dtype=torch.float64) for _ in range(2))
    D = torch.randn(C, generator=g, dtype=torch.float64)
    return x, delta, A, Bm, Cm, D


def test_scan_equals_the_recurrence_at_every_length():
    g = torch.Generator().manual_seed(0)
    for t in (1, 2, 3, 8, 17):
        a = torch.rand(B, t, 3, generator=g, dtype=torch.float64)
        b = torch.randn(B, t, 3, generator=g, dtype=torch.float64)
        h, expected = torch.zeros(B, 3, dtype=torch.float64), []
        for s in range(t):
            h = a[:, s] * h + b[:, s]
            expected.append(h)
        torch.testing.assert_close(linear_recurrence_scan(a, b), torch.stack(expected, 1),
                                   rtol=1e-12, atol=1e-12)


def test_parallel_selective_scan_equals_the_sequential_one():
    args = random_ssm(1)
    torch.testing.assert_close(selective_scan_parallel(*args), selective_scan_sequential(*args),
                               rtol=1e-12, atol=1e-12)


def test_a_hand_computed_two_step_case():
    # One channel, one state: A = -1, delta = ln 2 -> A_bar = 1/2, B_bar = ln 2 * B.
    x = torch.tensor([[[1.0], [2.0]]], dtype=torch.float64)
    delta = torch.full((1, 2, 1), math.log(2), dtype=torch.float64)
    A = torch.tensor([[-1.0]], dtype=torch.float64)
    Bm = torch.tensor([[[1.0], [3.0]]], dtype=torch.float64)
    Cm = torch.tensor([[[2.0], [1.0]]], dtype=torch.float64)
    D = torch.tensor([0.5], dtype=torch.float64)
    h1 = math.log(2) * 1 * 1.0                      # B_bar_1 x_1
    h2 = 0.5 * h1 + math.log(2) * 3 * 2.0           # A_bar h_1 + B_bar_2 x_2
    expected = torch.tensor([[[2 * h1 + 0.5], [1 * h2 + 1.0]]], dtype=torch.float64)
    for scan in (selective_scan_sequential, selective_scan_parallel):
        torch.testing.assert_close(scan(x, delta, A, Bm, Cm, D), expected, rtol=1e-14, atol=0.0)


def test_layer_decoding_step_equals_both_forms():
    torch.manual_seed(2)
    layer = SelectiveSSM(C, N).double()
    x = torch.randn(B, T, C, dtype=torch.float64)
    h, steps = None, []
    for t in range(T):
        y_t, h = layer.step(x[:, t], h)
        assert h.shape == (B, C, N)                 # the same state after every token
        steps.append(y_t)
    parallel = layer(x)
    torch.testing.assert_close(layer(x, parallel=False), parallel, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.stack(steps, 1), parallel, rtol=1e-12, atol=1e-12)


def test_selection_depends_on_the_input_and_starts_where_mamba_starts():
    torch.manual_seed(3)
    layer = SelectiveSSM(32, N)
    A_bar, _ = discretise(*(layer.parameters_at(torch.randn(1, 2, 32))[:2]),
                          torch.zeros(1, 2, N))
    assert not torch.allclose(A_bar[:, 0], A_bar[:, 1])          # a different A_bar per token
    assert torch.equal(-torch.exp(layer.A_log[0]), -torch.arange(1.0, N + 1))
    dt = torch.nn.functional.softplus(layer.dt_proj.bias)
    assert dt.min() >= 1e-3 - 1e-9 and dt.max() <= 0.1 + 1e-9 and layer.dt_rank == 2


def test_ssd_mask_by_hand():
    a = torch.tensor([[0.9, 0.5, 0.2]], dtype=torch.float64)
    expected = torch.tensor([[[1.0, 0.0, 0.0],
                              [0.5, 1.0, 0.0],
                              [0.1, 0.2, 1.0]]], dtype=torch.float64)
    torch.testing.assert_close(ssd_mask(a), expected, rtol=1e-14, atol=1e-15)


def test_ssd_matrix_form_equals_the_recurrence():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(B, T, 3, generator=g, dtype=torch.float64)
    a = torch.rand(B, T, generator=g, dtype=torch.float64) * 0.9 + 0.1
    Bm, Cm = (torch.randn(B, T, N, generator=g, dtype=torch.float64) for _ in range(2))
    torch.testing.assert_close(ssd_matrix(x, a, Bm, Cm), ssd_recurrent(x, a, Bm, Cm),
                               rtol=1e-12, atol=1e-12)


def test_mamba_scan_with_a_scalar_A_is_the_ssd_matrix():
    # Mamba-2's restriction: one delta per step and A = a * I, so A_bar_t = exp(delta_t a) for
    # every channel and state; with B_bar x = delta B x, the SSD head's input is delta_t x_t.
    x, delta, _, Bm, Cm, _ = random_ssm(5)
    delta = delta[..., :1].expand(B, T, C)                       # shared across channels
    A = torch.full((C, N), -0.7, dtype=torch.float64)
    mamba = selective_scan_sequential(x, delta, A, Bm, Cm, torch.zeros(C, dtype=torch.float64))
    ssd = ssd_matrix(delta * x, torch.exp(-0.7 * delta[..., 0]), Bm, Cm)
    torch.testing.assert_close(ssd, mamba, rtol=1e-12, atol=1e-12)


def test_state_bytes():
    assert ssm_state_bytes(2, 8, 16, batch=3, bytes_per_value=4) == 2 * 8 * 16 * 3 * 4


@pytest.mark.parametrize("make", [
    lambda: SelectiveSSM(0),
    lambda: SelectiveSSM(8, 4)(torch.randn(1, 3, 5)),
    lambda: discretise(torch.rand(1, 3, 4), -torch.rand(5, 2), torch.randn(1, 3, 2)),
    lambda: discretise(torch.rand(1, 3, 4), -torch.rand(4, 2), torch.randn(1, 3, 3)),
    lambda: ssd_mask(torch.tensor([[0.5, 0.0]])),
    lambda: linear_recurrence_scan(torch.rand(1, 3), torch.rand(1, 4)),
    lambda: ssm_state_bytes(1, 0, 4),
])
def test_bad_input_is_named(make):
    with pytest.raises(ValueError):
        make()
