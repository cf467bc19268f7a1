"""Decoding strategies: each filter's defining property, seeded reproducibility, the
repetition penalty, and beam search against greedy on a constructed case."""

import pytest
import torch
from torch.testing import assert_close

from snippets.models.sampling import (apply_repetition_penalty, beam_search, min_p_filter,
                               next_token_probs, sample_next, sequence_log_prob, top_k_filter,
                               top_p_filter)


def random_logits(B: int = 4, V: int = 50, seed: int = 0) -> torch.Tensor:
    return torch.randn(B, V, generator=torch.Generator().manual_seed(seed)) * 2


def test_temperature_zero_is_greedy():
    logits = random_logits()
    probs = next_token_probs(logits, temperature=0.0)
    assert torch.equal(probs.argmax(-1), logits.argmax(-1))
    assert torch.equal(probs.sum(-1), torch.ones(4)) and probs.max(-1).values.eq(1).all()
    assert torch.equal(sample_next(logits, temperature=0.0), logits.argmax(-1))


def test_temperature_sharpens_and_flattens():
    logits = random_logits()
    entropy = lambda p: -(p * p.clamp_min(1e-30).log()).sum(-1)
    cold, plain, hot = (entropy(next_token_probs(logits, temperature=t)) for t in (0.5, 1.0, 2.0))
    assert (cold < plain).all() and (plain < hot).all()
    assert_close(next_token_probs(logits, temperature=1.0), torch.softmax(logits, -1))


def test_top_k_never_samples_outside_the_k_most_likely():
    logits = random_logits()
    allowed = logits.topk(5, dim=-1).indices                          # (B, 5)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        token = sample_next(logits, temperature=1.5, top_k=5, generator=g)
        assert (allowed == token[:, None]).any(-1).all()
    assert (torch.isfinite(top_k_filter(logits, 5)).sum(-1) == 5).all()


def test_top_k_keeps_exactly_k_under_ties():
    assert torch.isfinite(top_k_filter(torch.zeros(1, 10), 3)).sum() == 3


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.05, 0.4, 0.3, 0.2, 0.05]])
    logits = probs.log()
    kept = lambda p: torch.isfinite(top_p_filter(logits, p))[0].nonzero().flatten().tolist()
    assert kept(0.4) == [1]              # the top token alone reaches 0.4
    assert kept(0.41) == [1, 2]          # 0.4 falls short: add the next
    assert kept(0.85) == [1, 2, 3]       # 0.9 >= 0.85 with three tokens, 0.7 < 0.85 with two
    assert kept(1.0) == [0, 1, 2, 3, 4]
    assert kept(1e-6) == [1]             # never empty


def test_top_p_set_is_minimal_on_random_distributions():
    logits = random_logits(B=8, V=100)
    for p in (0.3, 0.7, 0.95):
        probs = torch.softmax(logits, -1)
        keep = torch.isfinite(top_p_filter(logits, p))
        mass = (probs * keep).sum(-1)
        smallest_kept = probs.masked_fill(~keep, 2.0).min(-1).values
        assert (mass >= p - 1e-6).all()
        assert (mass - smallest_kept < p).all()   # dropping the weakest kept token falls short
        assert_close(next_token_probs(logits, top_p=p).sum(-1), torch.ones(8))


def test_seeded_sampling_is_reproducible():
    logits = random_logits()
    draw = lambda seed: torch.stack([sample_next(logits, top_p=0.9, generator=g)
                                     for g in [torch.Generator().manual_seed(seed)] for _ in range(20)])
    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


def test_samples_follow_the_filtered_distribution():
    logits = random_logits(B=1, V=6)
    g = torch.Generator().manual_seed(0)
    probs = next_token_probs(logits, temperature=0.7, top_k=4)
    counts = torch.bincount(torch.stack([sample_next(logits, temperature=0.7, top_k=4, generator=g)
                                         for _ in range(4000)]).flatten(), minlength=6)
    assert_close(counts / 4000, probs[0], atol=0.03, rtol=0)


def test_repetition_penalty_lowers_seen_tokens_only():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    prev = torch.tensor([[0, 1, 1]])                                  # token 1 twice: penalised once
    out = apply_repetition_penalty(logits, prev, 2.0)
    assert_close(out, torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    before, after = torch.softmax(logits, -1), torch.softmax(out, -1)
    assert (after[0, :2] < before[0, :2]).all() and (after[0, 2:] > before[0, 2:]).all()
    assert torch.equal(apply_repetition_penalty(logits, prev, 1.0), logits)


def test_repetition_penalty_can_change_the_greedy_choice():
    logits = torch.tensor([[3.0, 2.0, 0.0]])
    prev = torch.tensor([[0]])
    assert next_token_probs(logits, prev, temperature=0.0, repetition_penalty=2.0).argmax() == 1


@pytest.mark.parametrize("kwargs", [{"temperature": -1.0}, {"top_k": 0}, {"top_p": 0.0},
                                    {"top_p": 1.01}, {"repetition_penalty": 0.0}])
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError):
        next_token_probs(random_logits(), **kwargs)


# ---------- beam search ----------

# A bigram "model" over {0: <s>, 1: A, 2: B, 3: C}: A is the likelier first step, but after A
# the next token is uncertain, while B is followed by B with probability 0.9.
BIGRAM = torch.tensor([[0.00, 0.60, 0.40, 0.00],
                       [0.20, 0.30, 0.25, 0.25],
                       [0.05, 0.05, 0.90, 0.00],
                       [0.25, 0.25, 0.25, 0.25]]).clamp_min(1e-9).log()


def bigram(seqs: torch.Tensor) -> torch.Tensor:
    return BIGRAM[seqs[:, -1]]                                         # (N, V)


def greedy(fn, prompt: torch.Tensor, n: int) -> torch.Tensor:
    seq = prompt
    for _ in range(n):
        seq = torch.cat([seq, fn(seq.unsqueeze(0))[0].argmax().view(1)])
    return seq


def test_beam_width_one_is_greedy():
    prompt = torch.tensor([0])
    seq, score = beam_search(bigram, prompt, 2, beam_width=1)
    assert seq.tolist() == greedy(bigram, prompt, 2).tolist() == [0, 1, 1]
    assert score == pytest.approx(sequence_log_prob(bigram, prompt, seq[1:]))


def test_beam_finds_a_likelier_sequence_than_greedy():
    prompt = torch.tensor([0])
    seq, score = beam_search(bigram, prompt, 2, beam_width=2)
    assert seq.tolist() == [0, 2, 2]
    assert score == pytest.approx(torch.tensor(0.36).log().item(), abs=1e-6)
    assert score > sequence_log_prob(bigram, prompt, greedy(bigram, prompt, 2)[1:])


def test_beam_one_equals_greedy_on_a_random_model():
    torch.manual_seed(0)
    table = torch.randn(30, 30).log_softmax(-1)
    fn = lambda seqs: table[seqs[:, -1]]
    prompt = torch.tensor([4, 7])
    assert torch.equal(beam_search(fn, prompt, 10, beam_width=1)[0], greedy(fn, prompt, 10))


def test_beam_search_rejects_bad_width():
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(bigram, torch.tensor([0]), 2, beam_width=0)


@pytest.mark.parametrize("temperature", [float("nan"), float("inf"), -1.0, 1e-45, 1e-4])
def test_temperatures_without_meaning_are_clear_errors(temperature):
    with pytest.raises(ValueError, match="temperature"):
        sample_next(random_logits(), temperature=temperature)


def test_the_smallest_allowed_temperature_still_samples():
    from snippets.models.sampling import MIN_TEMPERATURE

    probs = next_token_probs(random_logits() * 30, temperature=MIN_TEMPERATURE)
    assert torch.isfinite(probs).all() and torch.allclose(probs.sum(-1), torch.ones(4))


@pytest.mark.parametrize("kw", [dict(top_p=float("nan")), dict(repetition_penalty=float("nan")),
                                dict(repetition_penalty=float("inf"))])
def test_nan_settings_are_clear_errors(kw):
    with pytest.raises(ValueError, match="top_p|repetition_penalty"):
        next_token_probs(random_logits(), **kw)


# ---------- min-p ----------

def test_min_p_keeps_tokens_above_a_share_of_the_top_probability():
    probs = torch.tensor([[0.50, 0.30, 0.10, 0.06, 0.04]])
    kept = torch.isfinite(min_p_filter(probs.log(), 0.1))             # threshold 0.05
    assert kept.tolist() == [[True, True, True, True, False]]
    kept = torch.isfinite(min_p_filter(probs.log(), 0.5))             # threshold 0.25
    assert kept.tolist() == [[True, True, False, False, False]]


def test_min_p_adapts_where_top_k_cannot():
    """The same min_p keeps one token of a confident distribution and all of a flat one."""
    confident = torch.tensor([[0.96, 0.01, 0.01, 0.01, 0.01]]).log()
    flat = torch.tensor([[0.22, 0.20, 0.20, 0.19, 0.19]]).log()
    assert torch.isfinite(min_p_filter(confident, 0.1)).sum() == 1
    assert torch.isfinite(min_p_filter(flat, 0.1)).sum() == 5


def test_min_p_edges_and_renormalisation():
    logits = random_logits()
    assert torch.equal(min_p_filter(logits, 0.0), logits)              # off
    top_only = torch.isfinite(min_p_filter(logits, 1.0))               # only the arg-max survives
    assert top_only.sum(-1).eq(1).all() and top_only.float().argmax(-1).equal(logits.argmax(-1))
    probs = next_token_probs(logits, min_p=0.2)
    assert_close(probs.sum(-1), torch.ones(4))
    kept = probs > 0
    full = torch.softmax(logits, -1)
    assert_close(probs[kept], (full * kept).div((full * kept).sum(-1, keepdim=True))[kept])


def test_min_p_matches_transformers_warper():
    from transformers.generation.logits_process import MinPLogitsWarper

    logits = random_logits(B=8, V=100, seed=3)
    for p_min in (0.02, 0.1, 0.3):
        expected = MinPLogitsWarper(p_min)(None, logits.clone())
        assert torch.equal(torch.isfinite(min_p_filter(logits, p_min)), torch.isfinite(expected))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_min_p_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="min_p"):
        next_token_probs(random_logits(), min_p=bad)


def test_generate_with_min_p_one_is_greedy():
    from snippets.models.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, context_length=16, n_layers=1, n_heads=2, d_model=16))
    prompt = torch.tensor([[1, 2, 3]])
    sampled = model.generate(prompt, 8, min_p=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sampled, model.generate(prompt, 8, temperature=0.0))
