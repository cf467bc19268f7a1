"""Masked diffusion: the forward process, the 1/t-weighted loss, the unmasking schedule and sampler."""

import math

import pytest
import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.models.masked_diffusion import (BidirectionalLM, diffusion_loss, diffusion_nll_bound, mask_at_rate,
                                              tokens_per_step, unmask)

MASK = 7  # ids 0..6 are tokens, 7 is [MASK]


def test_schedule_reveals_everything_and_gives_the_remainder_to_the_first_steps():
    assert tokens_per_step(10, 4) == [3, 3, 2, 2]
    assert tokens_per_step(63, 63) == [1] * 63
    assert tokens_per_step(5, 1) == [5]
    for bad in (0, 11):
        with pytest.raises(ValueError, match="steps must be in"):
            tokens_per_step(10, bad)


def test_forward_process_hides_each_token_with_probability_t():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, MASK, (400, 250), generator=g)
    t = torch.tensor([0.0, 0.3, 1.0]).repeat_interleave(torch.tensor([100, 200, 100]))
    noisy, masked, p = mask_at_rate(ids, t, MASK, g)
    assert torch.equal(noisy == MASK, masked) and torch.equal(noisy[~masked], ids[~masked])
    assert masked[300:].all()                                   # t = 1: everything hidden
    assert masked[:100].float().mean() < 0.003                  # t = 0: only the eps floor
    assert abs(masked[100:300].float().mean().item() - p[150].item()) < 0.005
    assert p[150].item() == pytest.approx(0.999 * 0.3 + 0.001)


@pytest.mark.parametrize("ids, t, match", [
    (torch.zeros(2, 3, dtype=torch.long), torch.tensor([0.5]), "need ids"),
    (torch.zeros(2, 3, dtype=torch.long), torch.tensor([0.5, 1.5]), "t must lie in"),
    (torch.full((1, 3), MASK), torch.tensor([0.5]), "already contain the mask id"),
])
def test_forward_process_rejects_bad_input(ids, t, match):
    with pytest.raises(ValueError, match=match):
        mask_at_rate(ids, t, MASK, torch.Generator())


def test_loss_weights_each_hidden_token_by_one_over_p():
    """Uniform logits over V = 8: every hidden token costs log 8; two of four hidden at p = 1/2
    give (2 log 8) / (1/2) / 4 = log 8 per token."""
    ids = torch.tensor([[1, 2, 3, 4]])
    masked = torch.tensor([[True, False, True, False]])
    logits = torch.zeros(1, 4, 8)
    assert diffusion_loss(logits, ids, masked, torch.tensor([0.5])).item() == pytest.approx(math.log(8))
    assert diffusion_loss(logits, ids, masked, torch.tensor([1.0])).item() == pytest.approx(math.log(8) / 2)
    with pytest.raises(ValueError, match="do not match"):
        diffusion_loss(logits, ids, masked, torch.tensor([0.5, 0.5]))


def test_bound_of_a_context_free_model_is_its_exact_likelihood():
    """E[1(hidden) / p] = 1 at every position, so for a model that ignores the context the bound
    equals the exact -log q(x) per token: the estimator is unbiased."""
    q = torch.softmax(torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5, 0.2, 0.1, -50.0]), -1)
    ids = torch.multinomial(q[:MASK], 64 * 32, replacement=True, generator=torch.Generator().manual_seed(1))
    ids = ids.view(64, 32)
    exact = -q[ids].log().mean().item()

    def context_free(x: torch.Tensor) -> torch.Tensor:
        return q.log().expand(*x.shape, 8)

    bound = diffusion_nll_bound(context_free, ids, MASK, torch.Generator().manual_seed(2), n_t=64)
    assert bound == pytest.approx(exact, rel=0.02)
    with pytest.raises(ValueError, match="n_t"):
        diffusion_nll_bound(context_free, ids, MASK, torch.Generator(), n_t=0)


class Recorder:
    """A denoiser with random logits that strongly prefer [MASK] (which must never be proposed),
    recording every input it is given."""

    def __init__(self):
        self.inputs, self.g = [], torch.Generator().manual_seed(3)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        logits = torch.randn(*x.shape, 8, generator=self.g)
        logits[..., MASK] = 20.0
        return logits


@pytest.mark.parametrize("order", ["confidence", "random"])
def test_unmasking_keeps_the_prompt_and_never_changes_a_revealed_token(order):
    x = torch.full((3, 12), MASK)
    x[:, 0], x[:, 5] = 1, 2                                      # a prompt and an infill anchor
    denoiser = Recorder()
    out, revealed_at = unmask(denoiser, x, MASK, 4, torch.Generator().manual_seed(4), order=order)
    assert len(denoiser.inputs) == 4 and not (out == MASK).any()
    assert torch.equal(out[:, [0, 5]], x[:, [0, 5]]) and (revealed_at[:, [0, 5]] == -1).all()
    assert [int((revealed_at[0] == s).sum()) for s in range(4)] == tokens_per_step(10, 4)
    for earlier, later in zip(denoiser.inputs, denoiser.inputs[1:] + [out]):
        shown = earlier != MASK
        assert torch.equal(later[shown], earlier[shown])        # revealed tokens stay


def test_confidence_order_reveals_the_surest_position_first():
    """Position i's best token has logit i + 1, the others 0: with one token a pass the sampler
    reveals the positions from the last (most confident) to the first."""
    def ramp(x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*x.shape, 8)
        logits[..., 3] = torch.arange(x.shape[1], dtype=torch.float) + 1
        return logits

    out, revealed_at = unmask(ramp, torch.full((1, 6), MASK), MASK, 6, torch.Generator(), temperature=0)
    assert out.tolist() == [[3] * 6]
    assert revealed_at.tolist() == [[5, 4, 3, 2, 1, 0]]


def test_unmask_rejects_bad_arguments():
    x = torch.full((2, 4), MASK)
    with pytest.raises(ValueError, match="order"):
        unmask(Recorder(), x, MASK, 2, torch.Generator(), order="left-to-right")
    with pytest.raises(ValueError, match="temperature"):
        unmask(Recorder(), x, MASK, 2, torch.Generator(), temperature=-1.0)
    x[1, 0] = 1
    with pytest.raises(ValueError, match="same number"):
        unmask(Recorder(), x, MASK, 2, torch.Generator())
    with pytest.raises(ValueError, match="steps"):
        unmask(Recorder(), torch.full((1, 4), MASK), MASK, 5, torch.Generator())


def test_bidirectional_lm_is_the_gpt_without_its_causal_mask():
    config = GPTConfig(vocab_size=9, context_length=16, n_layers=2, n_heads=2, d_model=16)
    torch.manual_seed(0)
    encoder = BidirectionalLM(config).eval()
    gpt = GPT(GPTConfig(vocab_size=8, context_length=16, n_layers=2, n_heads=2, d_model=16))
    assert encoder.mask_id == 8
    assert sum(p.numel() for p in encoder.parameters()) == gpt.num_parameters() + 16   # one row
    x = torch.randint(0, 8, (1, 10), generator=torch.Generator().manual_seed(5))
    edited = x.clone()
    edited[0, 7] = (x[0, 7] + 1) % 8
    with torch.no_grad():
        moved = (encoder(x)[0, 0] - encoder(edited)[0, 0]).abs().max()
        causal = encoder.net(x)[0][0, 0] - encoder.net(edited)[0][0, 0]   # the same weights, causal
    assert moved > 1e-4 and causal.abs().max() == 0
