"""Our recurrent cells and layers against torch's on the same weights: outputs, final
states and gradients; the two GRU reset placements; bad input."""

import pytest
import torch
from torch import nn

from snippets.layers.recurrent import (GRUCell, LSTMCell, Recurrent, RNNCell,
                                       load_torch_weights)

B, T, I, H = 3, 7, 5, 6


def copy_cell(ours: nn.Module, theirs: nn.Module) -> None:
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ours, name).copy_(getattr(theirs, name))


def grads(module: nn.Module) -> list[torch.Tensor]:
    return [p.grad for p in module.parameters()]


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", [
    (RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
    (RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    (LSTMCell, nn.LSTMCell, {}),
    (GRUCell, nn.GRUCell, {}),
])
def test_cell_equals_torch_values_and_gradients(ours_cls, torch_cls, kwargs):
    torch.manual_seed(0)
    theirs = torch_cls(I, H, **kwargs).double()
    ours = ours_cls(I, H, **kwargs).double()
    copy_cell(ours, theirs)
    x = torch.randn(B, I, dtype=torch.double, requires_grad=True)
    h = torch.randn(B, H, dtype=torch.double)
    state = (h, torch.randn(B, H, dtype=torch.double)) if ours_cls is LSTMCell else h
    a, b = theirs(x, state), ours(x, state)
    a, b = (a, b) if isinstance(a, tuple) else ((a,), (b,))
    for u, v in zip(a, b):
        torch.testing.assert_close(v, u)
    sum(u.sum() * (i + 1) for i, u in enumerate(a)).backward()
    gx_theirs, x.grad = x.grad.clone(), None
    sum(v.sum() * (i + 1) for i, v in enumerate(b)).backward()
    torch.testing.assert_close(x.grad, gx_theirs)
    for g_ours, g_theirs in zip(grads(ours), grads(theirs)):
        torch.testing.assert_close(g_ours, g_theirs)


@pytest.mark.parametrize("mode, torch_cls", [("rnn_tanh", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
@pytest.mark.parametrize("with_state", [False, True])
def test_two_layer_bidirectional_layer_equals_torch(mode, torch_cls, with_state):
    torch.manual_seed(1)
    theirs = torch_cls(I, H, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = load_torch_weights(Recurrent(mode, I, H, num_layers=2, bidirectional=True).double(), theirs)
    x = torch.randn(B, T, I, dtype=torch.double, requires_grad=True)
    state = None
    if with_state:
        h0 = torch.randn(4, B, H, dtype=torch.double)
        state = (h0, torch.randn(4, B, H, dtype=torch.double)) if mode == "lstm" else h0
    out_t, fin_t = theirs(x, state)
    out_o, fin_o = ours(x, state)
    assert out_o.shape == (B, T, 2 * H)
    torch.testing.assert_close(out_o, out_t)
    for u, v in zip(fin_t if mode == "lstm" else (fin_t,), fin_o if mode == "lstm" else (fin_o,)):
        assert v.shape == (4, B, H)
        torch.testing.assert_close(v, u)
    w = torch.randn_like(out_t)
    (out_t * w).sum().backward()
    gx, x.grad = x.grad.clone(), None
    (out_o * w).sum().backward()
    torch.testing.assert_close(x.grad, gx)
    for layer in range(2):
        for direction, suffix in enumerate(("", "_reverse")):
            cell = ours.cells[layer * 2 + direction]
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                torch.testing.assert_close(getattr(cell, name).grad,
                                           getattr(theirs, f"{name}_l{layer}{suffix}").grad)


def test_gru_reset_placement_matters_and_torch_uses_reset_after():
    torch.manual_seed(2)
    theirs = nn.GRUCell(I, H).double()
    after, before = GRUCell(I, H, reset_after=True).double(), GRUCell(I, H, reset_after=False).double()
    copy_cell(after, theirs)
    copy_cell(before, theirs)
    x, h = torch.randn(B, I, dtype=torch.double), torch.randn(B, H, dtype=torch.double)
    torch.testing.assert_close(after(x, h), theirs(x, h))
    assert (before(x, h) - theirs(x, h)).abs().max() > 1e-3  # same weights, another function


def test_gru_variants_agree_when_reset_gate_is_open():
    """With r = 1 everywhere both placements compute the same thing: the only difference is r."""
    torch.manual_seed(3)
    after, before = GRUCell(I, H).double(), GRUCell(I, H, reset_after=False).double()
    before.load_state_dict(after.state_dict())
    with torch.no_grad():
        for cell in (after, before):
            cell.bias_ih[:H] = 1e3  # sigmoid(1e3) == 1 in float64
    x, h = torch.randn(B, I, dtype=torch.double), torch.randn(B, H, dtype=torch.double)
    torch.testing.assert_close(after(x, h), before(x, h))


def test_forget_bias_is_added_to_the_forget_slice_only():
    torch.manual_seed(4)
    plain = LSTMCell(I, H)
    torch.manual_seed(4)
    biased = LSTMCell(I, H, forget_bias=1.0)
    diff = biased.bias_hh - plain.bias_hh
    torch.testing.assert_close(diff[H:2 * H], torch.ones(H))
    assert diff[:H].abs().max() == 0 and diff[2 * H:].abs().max() == 0


def test_unidirectional_single_layer_matches_cell_loop():
    torch.manual_seed(5)
    layer = Recurrent("lstm", I, H)
    x = torch.randn(B, T, I)
    out, (h_n, c_n) = layer(x)
    state = None
    for t in range(T):
        state = layer.cells[0](x[:, t], state)
        torch.testing.assert_close(out[:, t], state[0])
    torch.testing.assert_close(h_n[0], state[0])
    torch.testing.assert_close(c_n[0], state[1])


def test_bad_input_gives_clear_errors():
    layer = Recurrent("gru", I, H, num_layers=2)
    with pytest.raises(ValueError, match="input width 4 does not match input_size=5"):
        layer(torch.randn(B, T, 4))
    with pytest.raises(ValueError, match=r"empty sequence.*T = 0"):
        layer(torch.randn(B, 0, I))
    with pytest.raises(ValueError, match=r"expected \(L\*D, B, C\) = \(2, 3, 6\)"):
        layer(torch.randn(B, T, I), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match="batch-first"):
        layer(torch.randn(T, I))
    with pytest.raises(ValueError, match="takes a pair"):
        Recurrent("lstm", I, H)(torch.randn(B, T, I), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match=r"state has shape \(3, 5\), expected \(B, C\) = \(3, 6\)"):
        RNNCell(I, H)(torch.randn(B, I), torch.zeros(B, 5))
    with pytest.raises(ValueError, match="input width 2"):
        LSTMCell(I, H)(torch.randn(B, 2))
    with pytest.raises(ValueError, match="mode must be one of"):
        Recurrent("transformer", I, H)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(I, H, nonlinearity="sigmoid")
