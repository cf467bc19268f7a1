"""The gradient probes, and the spectral facts the chapter's derivation rests on."""

import math

import pytest
import torch

from snippets.layers.recurrent import LSTMCell, Recurrent, RNNCell
from snippets.models.gradient_flow import (decay_rate, gelfand_rates, hidden_gradient_norms,
                                           input_gradient_horizon, set_spectral_radius,
                                           spectral_radius)

H = 32


def test_gelfand_rate_tends_to_log_spectral_radius():
    torch.manual_seed(0)
    w = torch.randn(H, H, dtype=torch.double) / math.sqrt(H)
    rates = gelfand_rates(w, [1, 10, 100, 400])
    target = math.log(spectral_radius(w))
    errors = [abs(r - target) for r in rates]
    assert errors[-1] < 0.02 and errors[-1] < errors[0]
    # sigma_max bounds every rate from above (||W^k|| <= ||W||^k)
    assert all(r <= math.log(torch.linalg.matrix_norm(w, ord=2).item()) + 1e-12 for r in rates)


def test_hidden_gradient_norms_match_autograd_jacobian_product():
    """For a linear RNN the gradient to h_t is (W^T)^(T-1-t) applied to dL/dh_{T-1}."""
    torch.manual_seed(1)
    cell = RNNCell(4, 5).double()
    x = torch.randn(1, 6, 4, dtype=torch.double)
    u = torch.randn(5, dtype=torch.double)
    norms = hidden_gradient_norms(cell, x, lambda hs: hs[:, -1] @ u)
    assert norms.shape == (6,)
    # recompute by hand with the tanh derivatives of the forward pass
    h, hs = torch.zeros(1, 5, dtype=torch.double), []
    for t in range(6):
        h = cell(x[:, t], h).detach()
        hs.append(h)
    g = u.clone()
    for t in range(5, -1, -1):
        assert math.isclose(norms[t].item(), g.norm().item(), rel_tol=1e-10)
        g = (g * (1 - hs[t][0] ** 2)) @ cell.weight_hh  # dL/dh_{t-1} = W^T diag(phi') dL/dh_t


def test_linear_rnn_explodes_tanh_rnn_saturates_with_the_same_w():
    """rho > 1 is necessary for exploding gradients, not sufficient: tanh saturates."""
    torch.manual_seed(2)
    x = torch.randn(4, 120, H, dtype=torch.double)
    linear = Recurrent("rnn_relu", H, H).double()   # identity on positives only: use a custom phi
    linear.cells[0].phi = lambda a: a                # a linear RNN: phi(a) = a
    tanh = Recurrent("rnn_tanh", H, H).double()
    tanh.load_state_dict(linear.state_dict())
    for layer in (linear, tanh):
        set_spectral_radius(layer.cells[0], 1.5)
    lin_norms = input_gradient_horizon(linear, x)
    tanh_norms = input_gradient_horizon(tanh, x)
    assert decay_rate(lin_norms, 20, 100) > 0.3      # close to log 1.5 = 0.405: explodes
    assert lin_norms[100] > 1e15 * lin_norms[0]
    assert tanh_norms[100] < tanh_norms[0]           # saturated units pass almost nothing back


def test_lstm_default_init_vanishes_and_forget_bias_keeps_gradient_alive():
    torch.manual_seed(3)
    x = torch.randn(4, 120, H, dtype=torch.double)
    rnn = Recurrent("rnn_tanh", H, H).double()
    lstm = Recurrent("lstm", H, H).double()
    torch.manual_seed(4)
    lstm_b3 = Recurrent("lstm", H, H, forget_bias=3.0).double()
    rate_rnn = decay_rate(input_gradient_horizon(rnn, x), 10, 60)
    rate_lstm = decay_rate(input_gradient_horizon(lstm, x), 10, 60)
    horizon_b3 = input_gradient_horizon(lstm_b3, x)
    assert rate_lstm < -0.2 and rate_rnn < -0.2       # both lose more than 18% per step
    assert rate_lstm < 0.5 * rate_rnn                 # the LSTM is not slower by a factor 2
    assert horizon_b3[100] > 1e-3 * horizon_b3[0]     # over 100 steps: still alive
    assert decay_rate(horizon_b3, 10, 100) > -0.06


def test_decay_rate_recovers_a_known_geometric_rate():
    norms = torch.tensor([0.9 ** k for k in range(50)], dtype=torch.double)
    assert math.isclose(decay_rate(norms, 0, 49), math.log(0.9), rel_tol=1e-9)


def test_spectral_errors():
    with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
        spectral_radius(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="one-gate"):
        set_spectral_radius(LSTMCell(2, 2), 1.0)
    with pytest.raises(ValueError, match="T >= 1"):
        hidden_gradient_norms(RNNCell(2, 2), torch.zeros(1, 0, 2), lambda hs: hs.sum())
