"""IPO, KTO, SimPO and ORPO on hand-computed cases, each formula written out with math."""

import math

import pytest
import torch

from snippets.adaptation.preference import dpo_loss
from snippets.adaptation.preference_variants import (
    ipo_loss, kto_loss, kto_reference_point, log_odds, orpo_loss, simpo_loss)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z))


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_ipo_is_the_squared_distance_of_the_margin_to_one_over_two_tau():
    # pair 1: h = (-3 - -4) - (-6 - -5) = 1 - (-1) = 2; pair 2: h = (-2 - -2) - (-3 - -3) = 0
    loss = ipo_loss(t(-3, -2), t(-6, -3), t(-4, -2), t(-5, -3), tau=0.25)
    target = 1 / (2 * 0.25)                                             # = 2
    assert loss.item() == pytest.approx(((2 - target) ** 2 + (0 - target) ** 2) / 2)   # = 2


def test_ipo_stops_pushing_once_the_margin_reaches_its_target_while_dpo_never_does():
    h = torch.tensor([2.0, 6.0], dtype=torch.float64, requires_grad=True)  # 1/(2τ) = 2
    zero = torch.zeros(2, dtype=torch.float64)
    ipo_loss(h, zero, zero, zero, tau=0.25).backward()
    # mean over 2 pairs: d/dh_i (h_i - 2)^2 / 2 = h_i - 2: zero at the target, +4 (pulls back) at 6
    assert h.grad.tolist() == pytest.approx([0.0, 4.0])
    h2 = torch.tensor([2.0, 6.0], dtype=torch.float64, requires_grad=True)
    dpo_loss(h2, zero, zero, zero, beta=1.0)[0].backward()
    assert (h2.grad < 0).all()  # DPO keeps asking for a larger margin


def test_kto_reference_point_is_the_clamped_detached_mean_log_ratio():
    policy = torch.tensor([-3.0, -5.0], dtype=torch.float64, requires_grad=True)
    z0 = kto_reference_point(policy, t(-4.0, -5.0))                    # mean(1, 0) = 0.5
    assert z0.item() == pytest.approx(0.5) and not z0.requires_grad
    assert kto_reference_point(t(-6.0), t(-4.0)).item() == 0.0        # mean -2 clamped to 0


def test_kto_loss_by_hand():
    # r = policy - ref = (1.0, -2.0); the first desirable, the second undesirable; z0 = 0.5
    beta, lam_d, lam_u = 0.5, 1.0, 1.5
    loss = kto_loss(t(-3.0, -6.0), t(-4.0, -4.0), torch.tensor([True, False]),
                    torch.tensor(0.5, dtype=torch.float64), beta, lam_d, lam_u)
    v_desirable = lam_d * sigmoid(beta * (1.0 - 0.5))                   # λ_D σ(β(r − z0))
    v_undesirable = lam_u * sigmoid(beta * (0.5 - -2.0))                # λ_U σ(β(z0 − r))
    expected = ((lam_d - v_desirable) + (lam_u - v_undesirable)) / 2
    assert loss.item() == pytest.approx(expected)


def test_kto_rejects_non_bool_labels():
    with pytest.raises(ValueError, match="bool"):
        kto_loss(t(-1.0), t(-1.0), torch.tensor([1]), torch.tensor(0.0))


def test_simpo_uses_per_token_averages_and_a_margin():
    # chosen: -6 over 3 tokens = -2 per token; rejected: -4 over 1 token = -4 per token
    beta, gamma = 2.0, 0.5
    loss = simpo_loss(t(-6.0), t(-4.0), t(3.0), t(1.0), beta=beta, gamma=gamma)
    z = beta * (-6 / 3) - beta * (-4 / 1) - gamma                       # = -4 + 8 - 0.5 = 3.5
    assert loss.item() == pytest.approx(-log_sigmoid(z))
    # the summed log-prob favours the rejected answer (-6 < -4): DPO-style sums would disagree
    assert -6.0 < -4.0 and z > 0


def test_simpo_is_blind_to_length_when_every_token_is_equally_likely():
    """Doubling an answer with the same per-token log-prob leaves SimPO's loss unchanged."""
    short = simpo_loss(t(-2.0), t(-3.0), t(2.0), t(2.0))
    long = simpo_loss(t(-4.0), t(-3.0), t(4.0), t(2.0))
    assert long.item() == pytest.approx(short.item())


def test_log_odds_by_hand_and_its_domain():
    p = 0.2
    assert log_odds(t(math.log(p))).item() == pytest.approx(math.log(p / (1 - p)))
    with pytest.raises(ValueError, match="< 0"):
        log_odds(t(0.0))


def test_orpo_is_sft_plus_lambda_times_the_odds_ratio_loss():
    # chosen: mean log-prob log 0.5 (2 tokens), rejected: mean log 0.2 (3 tokens)
    lp_w, lp_l = math.log(0.5), math.log(0.2)
    total, odds_ratio = orpo_loss(t(2 * lp_w), t(3 * lp_l), t(2.0), t(3.0), lam=0.1)
    log_or = math.log(0.5 / 0.5) - math.log(0.2 / 0.8)                 # = log 4
    assert odds_ratio.item() == pytest.approx(-log_sigmoid(log_or))    # = log(1 + 1/4)
    assert odds_ratio.item() == pytest.approx(math.log(1.25))
    assert total.item() == pytest.approx(-lp_w + 0.1 * math.log(1.25))


@pytest.mark.parametrize("bad", [
    lambda: ipo_loss(t(1.0), t(1.0), t(1.0), t(1.0), tau=0.0),
    lambda: simpo_loss(t(-1.0), t(-1.0), t(0.0), t(1.0)),
    lambda: orpo_loss(t(-1.0, -2.0), t(-1.0), t(1.0), t(1.0)),
])
def test_bad_inputs_are_refused(bad):
    with pytest.raises(ValueError):
        bad()
