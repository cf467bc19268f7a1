"""Truncated BPTT: same forward values, and exactly zero gradient k or more steps back."""

import pytest
import torch

from snippets.layers.recurrent import Recurrent
from snippets.models.truncated_bptt import delayed_recall_batch, run_truncated, train_delayed_recall


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "gru"])
def test_truncation_keeps_values_and_cuts_gradients_at_k(mode):
    torch.manual_seed(0)
    layer = Recurrent(mode, 3, 4).double()
    T, k = 12, 4
    x = torch.randn(2, T, 3, dtype=torch.double, requires_grad=True)
    full, _ = layer(x)
    cut, _ = run_truncated(layer, x, k)
    torch.testing.assert_close(cut, full)  # the forward pass is untouched
    for t in range(T):
        x.grad = None
        cut[:, t].sum().backward(retain_graph=True)
        g = x.grad.abs().sum(dim=(0, 2))                 # (T,) gradient reaching each input
        assert torch.all(g[: max(0, t - k + 1)] == 0)    # k or more steps back: exactly zero
        assert g[t] > 0
        assert torch.all(g[t + 1:] == 0)                 # causality
    # without truncation the gradient reaches the first input from the last output
    x.grad = None
    full[:, -1].sum().backward()
    assert x.grad[:, 0].abs().sum() > 0


def test_delayed_recall_targets_and_errors():
    g = torch.Generator().manual_seed(0)
    x, y = delayed_recall_batch(3, 10, 4, 8, g)
    assert torch.equal(y[:, 4:], x[:, :6]) and torch.all(y[:, :4] == -100)
    with pytest.raises(ValueError, match="0 < delay < length"):
        delayed_recall_batch(1, 5, 5, 8, g)
    with pytest.raises(ValueError, match="k must be >= 1"):
        run_truncated(Recurrent("gru", 2, 2), torch.zeros(1, 3, 2), 0)
    with pytest.raises(ValueError, match="unidirectional"):
        run_truncated(Recurrent("gru", 2, 2, bidirectional=True), torch.zeros(1, 3, 2), 2)


def test_recall_is_learned_with_k_above_delay_only():
    """A short run on delay 2: k = 4 learns it, k = 2 (no gradient path of length 2) does not."""
    short = dict(steps=150, length=12, batch=16, n_symbols=4, hidden=16, dtype=torch.double)
    assert train_delayed_recall(2, 4, **short) > 0.9
    assert train_delayed_recall(2, 2, **short) < 0.6
