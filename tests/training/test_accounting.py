"""FLOPs, MFU and memory, counted by code and checked against torch's own counters."""
import math

import pytest
import torch

from snippets.models.gpt import GPT, GPTConfig, count_parameters
from snippets.training.accounting import (counted_flops, flops_per_token, matmul_flops_per_token,
                                          matmul_peak, mfu, training_memory)

CONFIG = GPTConfig(vocab_size=40, context_length=16, n_layers=2, n_heads=2, d_model=32,
                   bias=False, attn_impl="ours")  # explicit matmuls: the counter sees attention


def batch(B: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randint(0, 40, (B, 16), generator=g), torch.randint(0, 40, (B, 16), generator=g))


def test_the_formula_matches_flop_counter_mode_exactly():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    x, y = batch()
    assert counted_flops(model, x, y) == matmul_flops_per_token(CONFIG) * x.numel()
    assert all(p.grad is None for p in model.parameters())  # counting left no gradients


def test_kaplans_6n_differs_from_the_count_by_three_named_terms():
    C, L, T, V = CONFIG.d_model, CONFIG.n_layers, CONFIG.context_length, CONFIG.vocab_size
    N = count_parameters(CONFIG, non_embedding=True)
    norms = N - L * 12 * C * C  # the LayerNorm gains: in N, but no matrix product
    difference = matmul_flops_per_token(CONFIG) - flops_per_token(CONFIG)
    # the head's product (N leaves out the tied embedding), minus the norms' 6 FLOPs per gain,
    # plus the full T x T attention squares (Kaplan's term is half of them)
    assert difference == 6 * V * C - 6 * norms + 6 * L * T * C
    assert flops_per_token(CONFIG, attention=False) == 6 * N
    assert N == GPT(CONFIG).num_parameters(non_embedding=True)


def test_mfu_is_model_flops_over_peak():
    assert mfu(6e6, 1_000.0, 1.2e10) == pytest.approx(0.5)
    peak = matmul_peak(n=128, repeats=2)
    assert math.isfinite(peak) and peak > 0


def test_the_memory_budget_counts_weights_gradients_two_moments_and_activations():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    x, y = batch()
    rng = torch.get_rng_state()
    memory = training_memory(model, x, y)
    n = model.num_parameters()
    assert (memory.parameters, memory.gradients, memory.optimizer) == (4 * n, 4 * n, 8 * n)
    # at least the logits and their log-softmax, both kept for the backward: 2 x (B, T, V) floats
    assert memory.activations > 2 * x.numel() * CONFIG.vocab_size * 4
    assert memory.total == 16 * n + memory.activations
    assert memory.parameters + memory.activations <= memory.step_peak < memory.total
    assert torch.equal(torch.get_rng_state(), rng)  # dropout's stream is untouched
    assert all(p.grad is None for p in model.parameters())
