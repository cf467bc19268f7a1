"""Clipping by global norm equals torch.nn.utils.clip_grad_norm_, non-finite case included."""

import math

import pytest
import torch
from torch import nn

from snippets.training.clipping import clip_grad_norm, clip_grad_value


def two_copies(scale: float, poison: float | None = None) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    b = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 4)
    for m in (a, b):
        (m(x).sum() * scale).backward()
        if poison is not None:
            m[0].weight.grad[0, 0] = poison
    return a, b


@pytest.mark.parametrize("scale, max_norm", [(1.0, 0.5), (100.0, 1.0), (1e-3, 1.0)])
def test_equals_torch_clip_grad_norm(scale, max_norm):
    ours, theirs = two_copies(scale)
    total_ours = clip_grad_norm(ours.parameters(), max_norm)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm)
    torch.testing.assert_close(total_ours, total_theirs)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
    after = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours.parameters()]))
    assert after <= max_norm * (1 + 1e-5)


@pytest.mark.parametrize("poison", [math.inf, math.nan])
def test_non_finite_norm_behaves_like_torch(poison):
    ours, theirs = two_copies(1.0, poison)
    total_ours = clip_grad_norm(ours.parameters(), 1.0)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    assert not torch.isfinite(total_ours) and not torch.isfinite(total_theirs)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, equal_nan=True)
    # Scaling by max_norm / inf = 0 turns every finite entry into 0 and inf into nan.
    assert torch.isnan(ours[0].weight.grad[0, 0])
    with pytest.raises(RuntimeError, match="total gradient norm"):
        clip_grad_norm(ours.parameters(), 1.0, error_if_nonfinite=True)


def test_clip_by_value_changes_direction_clip_by_norm_does_not():
    p = nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([10.0, 1.0])
    clip_grad_value([p], 2.0)
    torch.testing.assert_close(p.grad, torch.tensor([2.0, 1.0]))
    p.grad = torch.tensor([10.0, 1.0])
    clip_grad_norm([p], 2.0)
    torch.testing.assert_close(p.grad / p.grad.norm(), torch.tensor([10.0, 1.0]) / math.sqrt(101))


def test_bad_thresholds_and_no_gradients():
    p = nn.Parameter(torch.zeros(2))
    assert clip_grad_norm([p], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="max_norm must be positive, got 0"):
        clip_grad_norm([p], 0)
    with pytest.raises(ValueError, match="clip_value must be positive"):
        clip_grad_value([p], -1.0)
