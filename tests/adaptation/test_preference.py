"""SFT loss with the prompt masked, DPO's closed form, its ln 2 start and its gradient."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets.adaptation.preference import (
    IGNORE, check_pairs, dpo_loss, sequence_logprob, sft_loss, sft_targets)


def test_sft_targets_mask_exactly_the_prompt():
    ids = torch.tensor([[5, 6, 7, 8, 9], [1, 2, 3, 4, 0]])
    targets = sft_targets(ids, torch.tensor([2, 4]))
    assert targets.tolist() == [[IGNORE, 7, 8, 9], [IGNORE, IGNORE, IGNORE, 0]]


def test_sft_loss_ignores_prompt_logits():
    torch.manual_seed(0)
    ids = torch.randint(0, 11, (3, 8))
    targets = sft_targets(ids, torch.tensor([3, 5, 1]))
    logits = torch.randn(3, 7, 11, requires_grad=True)
    loss = sft_loss(logits, targets)
    keep = targets != IGNORE
    expected = F.cross_entropy(logits[keep], targets[keep])       # answer tokens only
    assert_close(loss, expected)
    loss.backward()
    assert (logits.grad[~keep] == 0).all() and (logits.grad[keep].abs().sum(-1) > 0).all()
    # the mean is over answer tokens: minus the summed log-probs over their count
    assert_close(loss, -sequence_logprob(logits, targets).sum() / keep.sum())


def test_dpo_equals_its_closed_form():
    torch.manual_seed(0)
    pc, pr, rc, rr = torch.randn(4, 6)
    beta = 0.3
    loss, margin = dpo_loss(pc, pr, rc, rr, beta=beta)
    closed = torch.log1p(torch.exp(-beta * ((pc - rc) - (pr - rr)))).mean()
    assert_close(loss, closed)
    assert_close(margin, (pc - rc) - (pr - rr))


def test_dpo_is_ln2_when_policy_equals_reference():
    lp = torch.randn(2, 5)
    loss, margin = dpo_loss(lp[0], lp[1], lp[0], lp[1], beta=0.5)
    assert loss.item() == pytest.approx(math.log(2))
    assert (margin == 0).all()


def test_dpo_gradient_wrt_margin():
    beta = 0.2
    margin = torch.tensor([-3.0, -0.5, 0.0, 0.7, 4.0], requires_grad=True)
    zero = torch.zeros(5)
    loss, _ = dpo_loss(margin, zero, zero, zero, beta=beta)
    (loss * 5).backward()  # per-pair losses: undo the mean
    assert_close(margin.grad, -beta * torch.sigmoid(-beta * margin.detach()))


def test_dpop_penalises_only_a_falling_chosen_likelihood():
    ref_c, ref_r = torch.tensor([-5.0, -5.0]), torch.tensor([-6.0, -6.0])
    pol_c, pol_r = torch.tensor([-7.0, -4.0]), torch.tensor([-12.0, -12.0])
    plain, _ = dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=0.5, dpop_lambda=0.0)
    dpop, _ = dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=0.5, dpop_lambda=50.0)
    first = -F.logsigmoid(torch.tensor(0.5 * (4.0 - 50.0 * 2.0)))
    second = -F.logsigmoid(torch.tensor(0.5 * 7.0))
    assert_close(dpop, (first + second) / 2)
    assert dpop > plain


def test_dpop_gradient_raises_a_falling_chosen_likelihood():
    # Pal et al.'s Eq. 3: below the reference, the chosen log-prob's gradient is
    # -β(1 + λ)σ(-z) instead of DPO's -βσ(-z); above it the two losses are identical.
    beta, lam = 0.1, 5.0
    pol_c = torch.tensor([-7.0, -4.0], requires_grad=True)
    ref_c, pol_r, ref_r = torch.tensor([-5.0, -5.0]), torch.tensor([-9.0, -9.0]), torch.zeros(2) - 6
    loss, margin = dpo_loss(pol_c, pol_r, ref_c, ref_r, beta=beta, dpop_lambda=lam)
    (loss * 2).backward()
    z = beta * (margin.detach() - lam * (ref_c - pol_c.detach()).clamp_min(0))
    expected = -beta * torch.sigmoid(-z) * torch.tensor([1 + lam, 1.0])
    assert_close(pol_c.grad, expected)


def test_bad_preference_inputs_raise():
    same = torch.tensor([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"pairs \[1\] have identical"):
        check_pairs(same, torch.tensor([[1, 2, 4], [4, 5, 6]]))
    with pytest.raises(ValueError, match="beta must be > 0"):
        dpo_loss(*torch.zeros(4, 2), beta=0.0)
    with pytest.raises(ValueError, match="dpop_lambda must be >= 0"):
        dpo_loss(*torch.zeros(4, 2), dpop_lambda=-1.0)
    with pytest.raises(ValueError, match="one shape"):
        dpo_loss(torch.zeros(2), torch.zeros(3), torch.zeros(2), torch.zeros(2))
    with pytest.raises(ValueError, match="prompt length"):
        sft_targets(torch.zeros(1, 4, dtype=torch.long), torch.tensor([4]))
