import math

import pytest
import torch
import transformers
from transformers.models.mixtral.modeling_mixtral import (MixtralSparseMoeBlock,
                                                          load_balancing_loss_func)

from snippets.layers.moe import (SparseMoE, TopKRouter, expert_capacity, load_balancing_loss,
                                 moe_ffn_parameters, router_z_loss, tokens_per_expert,
                                 within_capacity)
from snippets.models.float64_reference import mixtral_router_in_dtype

C, F_, E, K = 16, 24, 4, 2


def mixtral_pair(dtype: torch.dtype = torch.float64) -> tuple[MixtralSparseMoeBlock, SparseMoE]:
    """A random transformers MixtralSparseMoeBlock and ours with the same weights."""
    config = transformers.MixtralConfig(hidden_size=C, intermediate_size=F_, num_local_experts=E,
                                        num_experts_per_tok=K)
    torch.manual_seed(0)
    theirs = MixtralSparseMoeBlock(config)
    for p in theirs.parameters():  # transformers leaves them uninitialised (torch.empty)
        torch.nn.init.normal_(p, std=0.3)
    theirs = theirs.to(dtype).eval()
    ours = SparseMoE(C, F_, E, K).to(dtype)
    ours.router.proj.weight.data.copy_(theirs.gate.weight)
    for e, expert in enumerate(ours.experts):
        gate, up = theirs.experts.gate_up_proj[e].chunk(2, dim=0)   # (F, C) each: gate first
        expert.gate.weight.data.copy_(gate)
        expert.up.weight.data.copy_(up)
        expert.down.weight.data.copy_(theirs.experts.down_proj[e])  # (C, F)
    return theirs, ours


def test_equal_to_transformers_mixtral_block_in_float64():
    theirs, ours = mixtral_pair()
    mixtral_router_in_dtype(theirs.gate)  # its softmax in float64, not float32
    x = torch.randn(3, 7, C, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(x)
        want_logits = theirs.gate(x)[0]
        got = ours(x)
    assert got.shape == (3, 7, C) and ours.router_logits.shape == (21, E)
    assert (got - want).abs().max() <= 1e-10
    assert (ours.router_logits - want_logits).abs().max() <= 1e-10
    assert got.abs().max() > 0.1  # not a trivial zero


def test_the_stock_mixtral_block_agrees_to_float32_rounding():
    theirs, ours = mixtral_pair()  # transformers' own float32 softmax in the router
    x = torch.randn(2, 5, C, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max() <= 1e-5


def test_router_softmax_over_all_experts_then_top_k_then_renormalise():
    router = TopKRouter(3, 4, 2).double()
    router.proj.weight.data = torch.eye(4, 3, dtype=torch.float64)
    x = torch.tensor([[math.log(4.0), math.log(2.0), 0.0]], dtype=torch.float64)  # logits ln4, ln2, 0, 0
    logits, weights, experts = router(x)
    assert experts.tolist() == [[0, 1]]
    # p = (4, 2, 1, 1) / 8; the top two, renormalised: 4/6 and 2/6
    torch.testing.assert_close(weights, torch.tensor([[2 / 3, 1 / 3]], dtype=torch.float64))


def test_load_balancing_loss_equals_transformers_on_two_layers():
    g = torch.Generator().manual_seed(3)
    layers = tuple(torch.randn(40, E, dtype=torch.float64, generator=g) * 2 for _ in range(2))
    want = load_balancing_loss_func(layers, E, K)
    got = load_balancing_loss(torch.cat(layers), K)  # transformers pools every layer's tokens
    assert abs(got.item() - want.item()) <= 1e-6 * want.item()  # it accumulates in float32


def test_load_balancing_loss_on_hand_computed_cases():
    third = math.log(3.0)
    # top-1, two tokens: p = (3/4, 1/4) and (1/4, 3/4) -> f = (1/2, 1/2), P = (1/2, 1/2): E * 1/2 = 1
    balanced = torch.tensor([[third, 0.0], [0.0, third]], dtype=torch.float64)
    assert load_balancing_loss(balanced, 1).item() == pytest.approx(1.0, abs=1e-15)
    # both tokens to expert 0: f = (1, 0), P = (3/4, 1/4): 2 * 3/4
    collapsed = torch.tensor([[third, 0.0], [third, 0.0]], dtype=torch.float64)
    assert load_balancing_loss(collapsed, 1).item() == pytest.approx(1.5, abs=1e-15)
    # uniform probabilities with top-2 of 4: P_i = 1/4 and sum f_i = 2, whatever the ties: k
    assert load_balancing_loss(torch.zeros(5, 4, dtype=torch.float64), 2).item() == pytest.approx(2.0)


def test_only_the_mean_probabilities_carry_the_balancing_gradient():
    logits = torch.randn(10, E, dtype=torch.float64, requires_grad=True)
    load_balancing_loss(logits, K).backward()
    f = tokens_per_expert(logits.detach(), K).double() / 10
    # d/dlogits of E * sum_i f_i * mean_t p_ti, with f held fixed
    expected = torch.autograd.functional.vjp(
        lambda z: E * (f * torch.softmax(z, -1).mean(0)).sum(), logits.detach())[1]
    torch.testing.assert_close(logits.grad, expected)
    assert tokens_per_expert(logits.detach(), K).sum().item() == 10 * K


def test_router_z_loss_on_hand_computed_cases():
    assert router_z_loss(torch.zeros(6, 4, dtype=torch.float64)).item() == pytest.approx(math.log(4) ** 2)
    one = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)  # logsumexp = ln 4
    assert router_z_loss(one).item() == pytest.approx(math.log(4) ** 2)
    # the mean over tokens of (logsumexp)^2, as transformers' Switch Transformers computes it
    logits = torch.randn(2, 5, E, dtype=torch.float64)
    from transformers.models.switch_transformers.modeling_switch_transformers import router_z_loss_func
    assert router_z_loss(logits).item() == pytest.approx(router_z_loss_func(logits).item(), rel=1e-12)


def test_capacity_keeps_first_choices_first_then_token_order():
    assert expert_capacity(8, 4, 2, 1.25) == 5  # ceil(1.25 * 2 * 8 / 4)
    experts = torch.tensor([[0, 1], [0, 2], [0, 1]])
    keep = within_capacity(experts, 3, capacity=2)
    # expert 0 is every token's first choice: the third overflows; second choices all fit
    assert keep.tolist() == [[True, True], [True, True], [False, True]]


def test_capacity_large_enough_is_dropless_and_tiny_capacity_drops():
    _, ours = mixtral_pair()
    x = torch.randn(2, 8, C, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        dropless = ours(x)
        ours.capacity_factor = float(E)  # every expert can take every token
        torch.testing.assert_close(ours(x), dropless, rtol=0, atol=1e-12)
        ours.capacity_factor = 1e-3      # one slot per expert: at most E of 2 * 16 assignments
        sparse = ours(x)
    served = (sparse.reshape(-1, C).abs().sum(-1) > 0).sum().item()
    assert 1 <= served <= E


def test_parameter_count_total_and_active():
    layer = SparseMoE(C, F_, E, K)
    total, active = moe_ffn_parameters(C, F_, E, K)
    assert total == sum(p.numel() for p in layer.parameters())
    assert active == C * E + K * 3 * C * F_


def test_bad_inputs_name_the_values():
    with pytest.raises(ValueError, match="top_k=5, n_experts=4"):
        SparseMoE(C, F_, 4, top_k=5)
    with pytest.raises(ValueError, match=r"x must be \(B, T, 16\), got \(3, 8\)"):
        SparseMoE(C, F_, E, K)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="capacity_factor must be > 0, got 0"):
        expert_capacity(8, 4, 2, 0)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and top_k=2"):
        load_balancing_loss(torch.zeros(2, 3, 4), 2)
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        router_z_loss(torch.zeros(4))
