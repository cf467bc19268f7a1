"""The GPT model: shapes and loss, parameter counts, init, parity with transformers' GPT-2,
KV-cache equivalence, generation rules and bad input."""

import dataclasses
import math

import pytest
import torch
import transformers
from torch.testing import assert_close

from snippets.models.gpt import GPT, GPTConfig, count_parameters, from_hf_gpt2

TINY = GPTConfig(vocab_size=23, context_length=16, n_layers=2, n_heads=2, d_model=16)


def tiny(**changes) -> GPT:
    torch.manual_seed(0)
    return GPT(dataclasses.replace(TINY, **changes)).eval()


def test_config_round_trips_through_asdict():
    c = GPTConfig(d_ff=100, tie_weights=False)
    assert GPTConfig(**dataclasses.asdict(c)) == c


@pytest.mark.parametrize("changes", [{"d_model": 10, "n_heads": 4}, {"n_layers": 0}, {"dropout": 1.0}])
def test_config_rejects_inconsistent_shapes(changes):
    with pytest.raises(ValueError):
        dataclasses.replace(TINY, **changes)


def test_forward_shapes_and_loss_is_shifted_cross_entropy():
    model = tiny()
    idx = torch.randint(0, 23, (3, 9))
    logits, loss = model(idx[:, :-1], idx[:, 1:])
    assert logits.shape == (3, 8, 23)
    expected = -torch.log_softmax(logits, -1).gather(-1, idx[:, 1:, None]).mean()
    assert_close(loss, expected)
    assert model(idx)[1] is None


def test_untrained_loss_is_near_log_vocab():
    model = tiny()
    idx, targets = torch.randint(0, 23, (2, 8, 16))
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(23)) < 0.1  # std-0.02 init: nearly uniform predictions


@pytest.mark.parametrize("changes", [{}, {"tie_weights": False}, {"bias": False}, {"d_ff": 40}])
def test_closed_form_count_matches_module(changes):
    model = tiny(**changes)
    for non_embedding in (False, True):
        assert model.num_parameters(non_embedding) == count_parameters(model.config, non_embedding)


def test_tied_head_shares_the_embedding_matrix():
    model = tiny()
    assert model.lm_head.weight is model.wte.weight
    assert tiny(tie_weights=False).num_parameters() == model.num_parameters() + 23 * 16


def test_gpt2_small_count_is_124m():
    config = GPTConfig(vocab_size=50257, context_length=1024, n_layers=12, n_heads=12, d_model=768)
    assert count_parameters(config) == 124_439_808  # the size transformers reports for "gpt2"


def test_residual_projections_get_smaller_init():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layers=8, d_model=256, n_heads=4))
    block = model.blocks[0]
    assert abs(block.attn.q_proj.weight.std().item() - 0.02) < 0.002
    assert abs(block.attn.out_proj.weight.std().item() - 0.02 / math.sqrt(16)) < 0.001
    assert abs(block.ffn.down.weight.std().item() - 0.02 / math.sqrt(16)) < 0.001


def test_attention_implementations_agree():
    ours, fused = tiny(attn_impl="ours"), tiny(attn_impl="torch")
    idx = torch.randint(0, 23, (2, 16))
    assert_close(ours(idx)[0], fused(idx)[0], atol=1e-5, rtol=1e-5)


def test_causality_future_tokens_do_not_change_past_logits():
    model = tiny()
    idx = torch.randint(0, 23, (1, 10))
    changed = idx.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % 23
    assert_close(model(idx)[0][:, :6], model(changed)[0][:, :6])
    assert not torch.allclose(model(idx)[0][:, 6:], model(changed)[0][:, 6:])


# ---------- transformers parity ----------

def hf_pair() -> tuple[torch.nn.Module, GPT]:
    hf_config = transformers.GPT2Config(vocab_size=37, n_positions=24, n_embd=32, n_layer=3,
                                        n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():  # HF zero-inits LayerNorm biases: randomise them so the mapping is tested
        for name, p in hf.named_parameters():
            if "ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    config = GPTConfig(vocab_size=37, context_length=24, n_layers=3, n_heads=4, d_model=32)
    return hf, from_hf_gpt2(hf.state_dict(), config).eval()


def test_logits_match_transformers_gpt2():
    hf, ours = hf_pair()
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        expected = hf(idx).logits
    assert_close(ours(idx)[0], expected, atol=1e-5, rtol=1e-4)


def test_greedy_continuation_matches_transformers_gpt2():
    hf, ours = hf_pair()
    prompt = torch.randint(0, 37, (1, 5))
    with torch.no_grad():
        expected = hf.generate(prompt, max_new_tokens=12, do_sample=False,
                               attention_mask=torch.ones_like(prompt), pad_token_id=0)
    assert torch.equal(ours.generate(prompt, 12, temperature=0.0), expected)


# ---------- KV cache ----------

def test_cached_logits_match_full_forward_at_every_step():
    model = tiny()
    idx = torch.randint(0, 23, (2, 16))
    full = model(idx)[0]                                               # (B, T, V)
    caches = model.new_caches(2)
    steps = [model(idx[:, :4], caches=caches)[0]]                      # prefill 4 positions
    steps += [model(idx[:, t:t + 1], caches=caches)[0] for t in range(4, 16)]  # then one at a time
    assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("sampling", [{"temperature": 0.0}, {"temperature": 1.3, "top_k": 5},
                                      {"temperature": 0.8, "top_p": 0.9, "repetition_penalty": 1.3}])
def test_cached_and_uncached_generation_give_identical_tokens(sampling):
    model = tiny()
    prompt = torch.randint(0, 23, (2, 3))
    # 40 new tokens run past context_length=16, so the sliding window is exercised too
    runs = [model.generate(prompt, 40, generator=torch.Generator().manual_seed(7),
                           use_cache=use_cache, **sampling) for use_cache in (True, False)]
    assert runs[0].shape == (2, 43)
    assert torch.equal(runs[0], runs[1])


def test_cache_refuses_positions_beyond_the_context():
    model = tiny()
    caches = model.new_caches(1)
    model(torch.zeros(1, 16, dtype=torch.long), caches=caches)
    with pytest.raises(ValueError, match="context_length"):
        model(torch.zeros(1, 1, dtype=torch.long), caches=caches)


# ---------- generation rules and bad input ----------

def test_long_prompt_is_cropped_from_the_left():
    model = tiny()
    long_prompt = torch.randint(0, 23, (1, 30))
    out = model.generate(long_prompt, 4, temperature=0.0)
    assert torch.equal(out[:, :30], long_prompt)                        # prompt kept whole
    cropped = model.generate(long_prompt[:, -16:], 4, temperature=0.0)
    assert torch.equal(out[:, 30:], cropped[:, 16:])                    # conditioned on last 16


def test_seeded_generation_is_reproducible_and_seeds_differ():
    model = tiny()
    prompt = torch.zeros(1, 1, dtype=torch.long)
    a, b, c = (model.generate(prompt, 30, generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_generated_ids_can_be_trained_on():
    """generate runs under inference_mode; what it returns must still enter autograd."""
    model = tiny()
    out = model.generate(torch.zeros(2, 1, dtype=torch.long), 8, temperature=0.0)
    assert not out.is_inference()
    _, loss = model(out[:, :-1], out[:, 1:])
    loss.backward()
    assert model.wte.weight.grad is not None


def test_logits_equals_forward_without_its_checks():
    model = tiny().eval()
    idx = torch.randint(0, 23, (2, 9))
    assert_close(model.logits(idx), model(idx)[0])


def test_last_only_logits_are_the_last_row_of_the_full_head():
    model = tiny().eval()
    idx = torch.randint(0, 23, (2, 9))
    last = model.logits(idx, last_only=True)
    assert last.shape == (2, 1, 23)
    assert_close(last, model.logits(idx)[:, -1:])
    caches = model.new_caches(2)  # with a cache too, as generate's prefill calls it
    assert_close(model.logits(idx, caches, last_only=True), last)


@pytest.mark.parametrize("idx, kwargs, message", [
    (torch.zeros(1, 0, dtype=torch.long), {}, "empty"),
    (torch.tensor([[1, 23, -1]]), {}, r"\[-1, 23\]"),
    (torch.zeros(1, 2), {}, "LongTensor"),
    (torch.zeros(1, 2, dtype=torch.long), {"temperature": -0.1}, "temperature"),
    (torch.zeros(1, 2, dtype=torch.long), {"top_p": 0.0}, "top_p"),
    (torch.zeros(1, 2, dtype=torch.long), {"top_p": 1.5}, "top_p"),
    (torch.zeros(1, 2, dtype=torch.long), {"top_k": 0}, "top_k"),
])
def test_generate_rejects_bad_input(idx, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny().generate(idx, 3, **kwargs)


def test_forward_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match="outside"):
        tiny()(torch.tensor([[0, 99]]))


def test_model_learns_a_repeating_sequence():
    torch.manual_seed(0)
    model = GPT(TINY)
    pattern = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6] * 2])               # (1, 16)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        _, loss = model(pattern[:, :-1], pattern[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    model.eval()
    assert torch.equal(model.generate(pattern[:, :3], 5, temperature=0.0)[0, 3:], pattern[0, 3:8])


def test_generate_runs_in_eval_mode_and_restores_the_callers_mode():
    model = tiny(dropout=0.5).train()
    idx = torch.tensor([[1, 2, 3]])
    sampled = model.generate(idx, 12, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert model.training  # the caller's mode is back
    reference = tiny(dropout=0.5).eval()  # same weights, no dropout
    expected = reference.generate(idx, 12, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sampled, expected)
    assert all(m.training for m in model.modules())
    assert not reference.training


def test_kv_caches_that_do_not_fit_the_model_are_clear_errors():
    model = tiny()
    idx = torch.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match="got 1 KV caches for 2 blocks"):
        model(idx, caches=model.new_caches(1)[:1])
    wrong_batch = model.new_caches(2)
    with pytest.raises(ValueError, match="KV cache holds"):
        model(idx, caches=wrong_batch)
