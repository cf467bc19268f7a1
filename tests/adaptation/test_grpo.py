"""GRPO's pieces on hand-computed cases, the verifier of the addition task, and a tiny run."""

import copy
import math

import pytest
import torch

from snippets.adaptation import arithmetic_task as task
from snippets.adaptation.grpo import (GRPOConfig, clipped_surrogate, completion_mask, gae,
                                      grpo_loss, grpo_step, group_advantages, k3_kl,
                                      token_logprobs)
from snippets.adaptation.voting import majority_vote, accuracy_at_n
from snippets.models.gpt import GPT, GPTConfig


def test_group_advantages_normalise_within_each_group_by_the_unbiased_std():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    a = group_advantages(rewards, eps=1e-12)
    # group 1: mean 0.5, std sqrt(4 · 0.25 / 3) = 0.5774 -> ±0.8660
    torch.testing.assert_close(a[0], torch.tensor([1, -1, -1, 1]) * math.sqrt(3) / 2)
    # group 2: mean 0.75, std 0.5 -> 0.5, 0.5, 0.5, -1.5
    torch.testing.assert_close(a[1], torch.tensor([0.5, 0.5, 0.5, -1.5]))
    # a group whose answers all score alike teaches nothing
    assert torch.equal(a[2], torch.zeros(4))


def test_group_advantages_refuse_groups_of_one():
    with pytest.raises(ValueError, match=r"\(B, G\) with G >= 2"):
        group_advantages(torch.ones(4, 1))


def test_gae_on_a_two_step_episode_by_hand():
    rewards = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    values = torch.tensor([[0.5, 0.2, 0.0]], dtype=torch.float64)
    # δ_1 = 1 + 0 − 0.2 = 0.8, δ_0 = 0 + 0.2 − 0.5 = −0.3; A_1 = 0.8, A_0 = −0.3 + 0.5 · 0.8
    adv, returns = gae(rewards, values, gamma=1.0, lam=0.5)
    torch.testing.assert_close(adv, torch.tensor([[0.1, 0.8]], dtype=torch.float64))
    torch.testing.assert_close(returns, torch.tensor([[0.6, 1.0]], dtype=torch.float64))
    # λ = 1: Monte-Carlo return minus the value; λ = 0: the one-step TD error
    torch.testing.assert_close(gae(rewards, values, 1.0, 1.0)[0],
                               torch.tensor([[0.5, 0.8]], dtype=torch.float64))
    torch.testing.assert_close(gae(rewards, values, 1.0, 0.0)[0],
                               torch.tensor([[-0.3, 0.8]], dtype=torch.float64))


def test_gae_refuses_values_without_the_bootstrap_column():
    with pytest.raises(ValueError, match=r"\(B, T \+ 1\)"):
        gae(torch.zeros(2, 3), torch.zeros(2, 3))


def test_clipped_surrogate_takes_the_pessimistic_side_and_stops_the_gradient_when_clipped():
    logp_old = torch.zeros(4, dtype=torch.float64)
    logp = torch.log(torch.tensor([1.5, 1.5, 0.5, 0.5], dtype=torch.float64)).requires_grad_()
    a = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    out = clipped_surrogate(logp, logp_old, a, clip_eps=0.2)
    # ρ = 1.5: min(1.5, 1.2) = 1.2 and min(−1.5, −1.2) = −1.5; ρ = 0.5: 0.5 and −0.8
    torch.testing.assert_close(out, torch.tensor([1.2, -1.5, 0.5, -0.8], dtype=torch.float64))
    out.sum().backward()
    # the clipped cases (1 and 4) give no gradient; the others give ρ·A
    torch.testing.assert_close(logp.grad, torch.tensor([0.0, -1.5, 0.5, 0.0], dtype=torch.float64))


def test_clipped_surrogate_refuses_an_epsilon_outside_0_1():
    with pytest.raises(ValueError, match="clip_eps"):
        clipped_surrogate(torch.zeros(1), torch.zeros(1), torch.ones(1), clip_eps=1.5)


def test_k3_by_hand_and_its_expectation_is_the_exact_kl():
    # π_θ = 0.5, π_ref = 0.25: x = 0.5, x − log x − 1 = 0.5 + log 2 − 1
    value = k3_kl(torch.log(torch.tensor(0.5, dtype=torch.float64)),
                  torch.log(torch.tensor(0.25, dtype=torch.float64)))
    assert value.item() == pytest.approx(math.log(2) - 0.5, abs=1e-15)
    p = torch.softmax(torch.randn(13, generator=torch.Generator().manual_seed(0),
                                  dtype=torch.float64), 0)
    q = torch.softmax(torch.randn(13, generator=torch.Generator().manual_seed(1),
                                  dtype=torch.float64), 0)
    per_token = k3_kl(p.log(), q.log())
    assert (per_token >= 0).all()
    # E_{y~π_θ}[k3] = Σ q − Σ p log(q/p) − 1 = KL(π_θ ‖ π_ref)
    torch.testing.assert_close((p * per_token).sum(), (p * (p / q).log()).sum())


def test_grpo_loss_averages_tokens_within_each_answer_then_answers():
    logp = torch.zeros(2, 2, dtype=torch.float64)                 # ρ = 1 everywhere
    logp_ref = torch.tensor([[math.log(0.5), 0.0], [0.0, 5.0]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    a = torch.tensor([1.0, -1.0], dtype=torch.float64)
    loss, kl = grpo_loss(logp, logp.clone(), logp_ref, a, mask, clip_eps=0.2, beta=0.1)
    k = 0.5 - math.log(0.5) - 1                                   # k3 with x = 0.5
    answer_1 = ((1 - 0.1 * k) + 1.0) / 2                          # two tokens
    answer_2 = -1.0                                               # one token; the masked one is ignored
    assert loss.item() == pytest.approx(-(answer_1 + answer_2) / 2, abs=1e-15)
    assert kl.item() == pytest.approx((k / 2 + 0.0) / 2, abs=1e-15)


def test_grpo_gradient_at_the_sampling_policy_is_the_policy_gradient():
    """With ρ = 1 and β = 0, ∂loss/∂ log π(token) = −A_i / (|o_i| · N) on each answer's tokens."""
    g = torch.Generator().manual_seed(0)
    logp = torch.randn(3, 4, generator=g, dtype=torch.float64).requires_grad_()
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float64)
    a = torch.tensor([0.7, -1.2, 0.5], dtype=torch.float64)
    loss, _ = grpo_loss(logp, logp.detach(), logp.detach(), a, mask, beta=0.0)
    loss.backward()
    expected = -a[:, None] / mask.sum(1, keepdim=True) / 3 * mask
    torch.testing.assert_close(logp.grad, expected)


def test_grpo_loss_names_mismatched_shapes():
    with pytest.raises(ValueError, match="advantages must be"):
        grpo_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3),
                  torch.ones(2, 3))


def test_completion_mask_keeps_each_answer_through_its_first_end_mark():
    E = task.END
    completions = torch.tensor([[3, E, 5], [E, 1, E], [1, 2, 3]])
    assert completion_mask(completions, E).tolist() == [[1, 1, 0], [1, 0, 0], [1, 1, 1]]


def test_the_verifier_accepts_exactly_the_sum_followed_by_the_end_mark():
    problems = torch.tensor([[12, 34], [12, 34], [12, 34], [99, 99], [5, 5]])
    texts = ["46;1", "46+4", "046;", "198;", "10;;"]
    completions = torch.tensor([task.encode(t) for t in texts])
    assert task.completion_text(completions) == ["46", None, "046", "198", "10"]
    assert task.correctness_reward(completions, problems).tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]
    # the flawed reward pays for digits, right or wrong
    long = torch.tensor([task.encode("98765432"), task.encode("0;000000")])
    assert task.length_reward(long, problems[:2]).tolist() == [1.0, 1 / 8]


def test_prompts_are_zero_padded_to_one_length_and_bad_characters_are_named():
    assert task.decode(task.prompt_ids(torch.tensor([[7, 45]]), 2)[0].tolist()) == "07+45="
    with pytest.raises(ValueError, match=r"\['x'\]"):
        task.encode("1x2")


def test_sft_batch_trains_on_the_answer_and_one_end_mark_only():
    x, y = task.sft_batch(torch.tensor([[7, 5], [60, 45]]), 2)
    assert task.decode(x[0].tolist()) == "07+05=12;;"[:-1]      # padded to the longer answer
    assert task.decode(x[1].tolist()) == "60+45=105"
    assert y[0].tolist() == [-100] * 5 + task.encode("12;") + [-100]
    assert y[1].tolist() == [-100] * 5 + task.encode("105;")


def test_majority_vote_and_best_of_n_by_hand():
    assert majority_vote(["3", None, "5", "5", "3"]) == "3"       # tie: the first seen
    assert majority_vote([None, None]) is None
    answers = [["1", "2", "2"], ["9", "9", "4"], ["7", None, "7"]]
    truths = ["2", "4", "7"]
    assert accuracy_at_n(answers, truths, 1) == (1 / 3, 1 / 3)
    assert accuracy_at_n(answers, truths, 2) == (2 / 3, 1 / 3)
    assert accuracy_at_n(answers, truths, 3) == (1.0, 2 / 3)
    with pytest.raises(ValueError, match="n must be in"):
        accuracy_at_n(answers, truths, 4)


def test_a_few_grpo_steps_raise_the_reward_of_a_trivial_task():
    """Reward: the answer's first token is "7". A random tiny GPT says so about 1 time in 13."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=len(task.ALPHABET), context_length=8, n_layers=1, n_heads=2,
                       d_model=16)
    policy = GPT(config).double()
    reference = copy.deepcopy(policy).eval()
    optimizer = torch.optim.Adam(policy.parameters(), lr=2e-2)
    prompts = torch.tensor([task.encode("1+2=")] * 4)

    def first_is_seven(completions: torch.Tensor, problems: torch.Tensor) -> torch.Tensor:
        return (completions[:, 0] == task.ALPHABET.index("7")).double()

    def sevens(model: GPT) -> float:
        with torch.no_grad():
            logp = token_logprobs(model, torch.tensor([task.encode("1+2=7")]), 4)
        return logp.exp().item()

    g = torch.Generator().manual_seed(0)
    before = sevens(policy)
    config_rl = GRPOConfig(group_size=8, max_new_tokens=2, beta=0.04)
    for _ in range(15):
        grpo_step(policy, reference, optimizer, prompts, torch.zeros(4, 2), first_is_seven,
                  task.END, config_rl, g)
    assert before < 0.15 and sevens(policy) > 0.5
