"""Speculative decoding: the rejection step leaves the target's distribution unchanged (and two
plausible wrong rules do not), greedy speculative decoding equals plain greedy decoding and
transformers' assisted generation token for token, the speed-up formulas, bad input."""

import itertools

import pytest
import torch
import transformers

from snippets.inference.speculative import (expected_speedup, expected_tokens_per_call,
                                            speculative_generate, verify_greedy, verify_sampled)
from snippets.models.gpt import GPT, GPTConfig, from_hf_gpt2

# ---------- the rejection step on hand-made distributions ----------

P = torch.tensor([0.05, 0.40, 0.30, 0.15, 0.10], dtype=torch.float64)  # target
Q = torch.tensor([0.30, 0.10, 0.35, 0.05, 0.20], dtype=torch.float64)  # draft
DRAWS = 10_000
BOUND = 0.02  # total variation allowed between the sampled and the target distribution


def accept_always(p, q, drafted, generator):
    return len(drafted), int(torch.multinomial(p[-1], 1, generator=generator))


def resample_from_p(p, q, drafted, generator):
    """The tempting shortcut: on rejection draw from p itself, not from the residual."""
    for i, x in enumerate(drafted.tolist()):
        if torch.rand((), dtype=p.dtype, generator=generator) * q[i, x] < p[i, x]:
            continue
        return i, int(torch.multinomial(p[i], 1, generator=generator))
    return len(drafted), int(torch.multinomial(p[-1], 1, generator=generator))


def first_token_tv(rule) -> float:
    """Draft one token from Q, let the rule keep or replace it; TV of the first emitted token
    from P over DRAWS draws with a fixed seed."""
    g = torch.Generator().manual_seed(0)
    p, q = torch.stack([P, P]), Q[None]                               # (G + 1, V), (G, V) with G = 1
    counts = torch.zeros(len(P), dtype=torch.float64)
    for _ in range(DRAWS):
        x = torch.multinomial(Q, 1, generator=g)                      # (1,)
        n, nxt = rule(p, q, x, g)
        counts[int(x) if n == 1 else nxt] += 1
    return 0.5 * float((counts / DRAWS - P).abs().sum())


def test_the_rejection_step_keeps_the_target_distribution():
    assert first_token_tv(verify_sampled) < BOUND


@pytest.mark.parametrize("wrong_rule", [accept_always, resample_from_p])
def test_the_bound_catches_a_wrong_rule(wrong_rule):
    # accept_always emits Q (TV 0.40 from P); resample_from_p emits sum(min(P, Q)) -> 0.17 off
    assert first_token_tv(wrong_rule) > 3 * BOUND


def test_greedy_verification_keeps_the_agreeing_prefix():
    choice = torch.tensor([4, 7, 1, 9])
    assert verify_greedy(choice, torch.tensor([4, 7, 2])) == (2, 1)
    assert verify_greedy(choice, torch.tensor([4, 7, 1])) == (3, 9)  # all kept: the bonus token
    assert verify_greedy(choice, torch.tensor([5, 7, 1])) == (0, 4)  # a later match does not count


# ---------- whole generation on tiny models ----------

def tiny(layers: int, seed: int, vocab: int = 3, sharpness: float = 8.0) -> GPT:
    """A random float64 GPT whose next-token distributions are far from uniform."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab, context_length=24, n_layers=layers, n_heads=2,
                          d_model=16, tie_weights=False)).double().eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpness)
    return model


def joint_of_two(model: GPT, prompt: torch.Tensor) -> torch.Tensor:
    """Exact probability of every two-token continuation (V * V,), by enumeration."""
    V = model.config.vocab_size
    with torch.no_grad():
        first = torch.softmax(model(prompt)[0][0, -1], -1)                       # (V,)
        pairs = torch.cat([prompt.expand(V, -1), torch.arange(V)[:, None]], 1)   # (V, T + 1)
        second = torch.softmax(model(pairs)[0][:, -1], -1)                       # (V, V)
    return (first[:, None] * second).flatten()


def test_sampled_sequences_follow_the_target_not_the_draft():
    target, draft = tiny(2, seed=0), tiny(1, seed=1)
    prompt = torch.tensor([[1, 2, 0]])
    exact, drafts_own = joint_of_two(target, prompt), joint_of_two(draft, prompt)
    g, draws = torch.Generator().manual_seed(0), 2000
    counts = torch.zeros(9, dtype=torch.float64)
    rejected = 0
    for _ in range(draws):
        out, stats = speculative_generate(target, draft, prompt, 2, gamma=2, generator=g)
        counts[out[0, -2] * 3 + out[0, -1]] += 1
        rejected += stats.drafted - stats.accepted
    tv = 0.5 * float((counts / draws - exact).abs().sum())
    bound = 0.05
    assert tv < bound
    assert 0.5 * float((drafts_own - exact).abs().sum()) > 3 * bound  # accepting every draft fails
    assert rejected > draws / 10  # the residual path was taken often, not only the accept path


PROMPTS = [[1, 2, 0], [0], [2, 2, 1, 0, 1, 1, 2]]


@pytest.mark.parametrize("gamma", [1, 3, 6])
def test_greedy_speculative_equals_plain_greedy(gamma):
    target, draft = tiny(3, seed=0, vocab=7), tiny(1, seed=1, vocab=7)
    for prompt in map(lambda p: torch.tensor([p]), PROMPTS):
        out, stats = speculative_generate(target, draft, prompt, 16, gamma=gamma, temperature=0.0)
        assert torch.equal(out, target.generate(prompt, 16, temperature=0.0))
        assert stats.rejected > 0  # the draft disagrees sometimes: rejections ran
        assert stats.accepted + stats.target_calls == 16  # each call adds its kept drafts + 1
        assert stats.rejected <= stats.target_calls and stats.accepted <= stats.drafted


def test_a_draft_equal_to_the_target_is_always_accepted():
    target = tiny(2, seed=0, vocab=7)
    out, stats = speculative_generate(target, target, torch.tensor([[3]]), 16, gamma=4,
                                      temperature=0.0)
    assert stats.acceptance_rate == 1.0 and stats.target_calls == 4  # 5 + 5 + 5 + 1 tokens
    assert torch.equal(out, target.generate(torch.tensor([[3]]), 16, temperature=0.0))


def hf_gpt2(layers: int, seed: int) -> transformers.GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = transformers.GPT2Config(vocab_size=29, n_positions=40, n_embd=32, n_layer=layers,
                                     n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                     bos_token_id=None, eos_token_id=None)
    hf = transformers.GPT2LMHeadModel(config).double().eval()
    with torch.no_grad():  # at init the residual stream is mostly the input token's embedding,
        for name, p in hf.named_parameters():  # which the tied head reads back: every model
            if "c_proj" in name:               # would repeat its input and agree. Louder blocks.
                p.mul_(30)
    return hf


def test_greedy_tokens_equal_transformers_assisted_generation():
    hf_target, hf_draft = hf_gpt2(4, seed=0), hf_gpt2(1, seed=1)
    config = GPTConfig(vocab_size=29, context_length=40, n_heads=4, d_model=32)
    target = from_hf_gpt2(hf_target.state_dict(), GPTConfig(**{**config.__dict__, "n_layers": 4}))
    draft = from_hf_gpt2(hf_draft.state_dict(), GPTConfig(**{**config.__dict__, "n_layers": 1}))
    rejections = 0
    for prompt in ([[5, 17, 3]], [[28]], [[1, 2, 3, 4, 5, 6]]):
        prompt = torch.tensor(prompt)
        with torch.no_grad():
            expected = hf_target.generate(prompt, assistant_model=hf_draft, do_sample=False,
                                          max_new_tokens=24, attention_mask=torch.ones_like(prompt),
                                          pad_token_id=0)
        ours, stats = speculative_generate(target.double(), draft.double(), prompt, 24, gamma=4,
                                           temperature=0.0)
        assert torch.equal(ours, expected)
        rejections += stats.drafted - stats.accepted
    assert rejections > 0


# ---------- the formulas ----------

def test_expected_tokens_is_the_geometric_sum():
    for alpha, gamma in itertools.product([0.0, 0.3, 0.8, 0.99], [1, 2, 5]):
        direct = sum(alpha ** i for i in range(gamma + 1))              # 1 + a + ... + a^gamma
        assert expected_tokens_per_call(alpha, gamma) == pytest.approx(direct)
    assert expected_tokens_per_call(1.0, 4) == 5.0


def test_speedup_matches_the_paper_and_a_free_draft():
    # (1 - 0.8^6) / (1 - 0.8) = 3.69 tokens a call, at a cost of 1 + 5 * 0.05 = 1.25 target steps
    assert expected_speedup(0.8, 5, 0.05) == pytest.approx(2.95, abs=0.01)
    assert expected_speedup(0.8, 5, 0.0) == expected_tokens_per_call(0.8, 5)


# ---------- bad input ----------

@pytest.mark.parametrize("case, message", [
    ("vocab", "share a vocabulary"), ("gamma", "gamma"), ("long", "context_length"),
    ("batch", "batch must be 1"),
])
def test_bad_input_names_the_problem(case, message):
    target, draft = tiny(2, seed=0), tiny(1, seed=1)
    prompt, gamma = torch.tensor([[1, 2]]), 3
    if case == "vocab":
        draft = tiny(1, seed=1, vocab=5)
    elif case == "gamma":
        gamma = 0
    elif case == "long":
        prompt = torch.zeros(1, 20, dtype=torch.long)  # 20 + 8 > 24
    elif case == "batch":
        prompt = torch.zeros(2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=message):
        speculative_generate(target, draft, prompt, 8, gamma=gamma)
