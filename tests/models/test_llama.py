from dataclasses import replace

import pytest
import torch
import transformers

from snippets.layers.positional import RotaryEmbedding
from snippets.models.float64_reference import llama_in_dtype
from snippets.models.llama import (Llama, LlamaConfig, from_hf_llama, half_to_interleaved,
                                   llama_config_from_hf, llama_parameters)


def hf_llama(n_heads: int, n_kv_heads: int, tie: bool, lift: bool = True):
    """A random tiny transformers LlamaForCausalLM in float64, and ours with its weights."""
    hf_config = transformers.LlamaConfig(
        vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=n_heads, num_key_value_heads=n_kv_heads, max_position_embeddings=40,
        rms_norm_eps=1e-5, tie_word_embeddings=tie, bos_token_id=None, eos_token_id=None,
        pad_token_id=None, attn_implementation="sdpa")
    torch.manual_seed(0)
    theirs = transformers.LlamaForCausalLM(hf_config).double().eval()
    with torch.no_grad():  # RMSNorm weights start at 1: make them matter
        for name, p in theirs.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    if lift:
        llama_in_dtype(theirs)
    ours = from_hf_llama(theirs.state_dict(), llama_config_from_hf(hf_config)).eval()
    return theirs, ours


@pytest.mark.parametrize("n_heads, n_kv_heads, tie", [(4, 2, False), (4, 4, True), (4, 1, False)])
def test_equal_to_transformers_llama_in_float64(n_heads, n_kv_heads, tie):
    theirs, ours = hf_llama(n_heads, n_kv_heads, tie)
    assert (ours.lm_head.weight is ours.wte.weight) == tie
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())
    idx = torch.randint(0, 61, (3, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(idx).logits
        got, _ = ours(idx)
    assert got.dtype == torch.float64 and got.shape == (3, 20, 61)
    assert (got - want).abs().max() <= 1e-10
    assert want.std() > 0.01  # logits that differ from token to token


@pytest.mark.parametrize("n_heads, n_kv_heads, tie", [(4, 2, False), (4, 4, True)])
def test_same_greedy_tokens_as_transformers_generate(n_heads, n_kv_heads, tie):
    theirs, ours = hf_llama(n_heads, n_kv_heads, tie)
    prompt = torch.randint(0, 61, (2, 5), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = theirs.generate(prompt, max_new_tokens=15, do_sample=False, min_new_tokens=15)
    got = ours.generate(prompt, 15, temperature=0.0)
    assert torch.equal(got, want)
    assert len(set(got[:, 5:].flatten().tolist())) > 1  # not one token throughout


def test_the_stock_transformers_model_agrees_to_float32_rounding():
    theirs, ours = hf_llama(4, 2, False, lift=False)  # RMSNorm and RoPE angles in float32
    idx = torch.randint(0, 61, (2, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert (ours(idx)[0] - theirs(idx).logits).abs().max() <= 1e-5


def test_half_to_interleaved_turns_rotate_half_rope_into_ours():
    H, D, C, T = 2, 8, 5, 6
    w_half = torch.randn(H * D, C, dtype=torch.float64)
    x = torch.randn(T, C, dtype=torch.float64)
    q_half = (x @ w_half.T).view(T, H, D).transpose(0, 1)                  # (H, T, D)
    theta = 10000.0 ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    angle = torch.cat([torch.arange(T, dtype=torch.float64)[:, None] * theta] * 2, dim=-1)
    rotated_half = q_half * angle.cos() + torch.cat((-q_half[..., D // 2:], q_half[..., :D // 2]), -1) * angle.sin()
    q_ours = (x @ half_to_interleaved(w_half, H).T).view(T, H, D).transpose(0, 1)
    # within a head, our channel j is their channel perm[j]: 0, D/2, 1, D/2 + 1, ...
    perm = half_to_interleaved(torch.arange(D, dtype=torch.float64)[:, None], 1)[:, 0].long()
    assert perm.tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    torch.testing.assert_close(q_ours, q_half[..., perm], rtol=0, atol=1e-14)
    # rotating in our layout gives their rotated vector, channels in our order
    torch.testing.assert_close(RotaryEmbedding(D)(q_ours), rotated_half[..., perm], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="15 rows do not split into 2 heads"):
        half_to_interleaved(torch.zeros(15, 3), 2)


def test_cached_generation_matches_recomputing_the_prefix():
    config = LlamaConfig(vocab_size=30, context_length=12, n_layers=2, n_heads=4, n_kv_heads=2,
                         d_model=16, d_ff=24)
    torch.manual_seed(0)
    model = Llama(config).double()
    prompt = torch.randint(0, 30, (2, 4), generator=torch.Generator().manual_seed(5))
    # 20 new tokens: past the 12-token window, so the cache is rebuilt as the window slides
    cached = model.generate(prompt, 20, generator=torch.Generator().manual_seed(6))
    plain = model.generate(prompt, 20, generator=torch.Generator().manual_seed(6), use_cache=False)
    assert torch.equal(cached, plain)
    caches = model.new_caches(2)
    assert caches[0].k.shape == (2, 2, 12, 4)  # H_kv = 2 heads cached, not 4
    with torch.no_grad():
        full = model.logits(prompt)
        step = torch.cat([model.logits(prompt[:, :3], caches), model.logits(prompt[:, 3:], caches)], 1)
    assert (full - step).abs().max() <= 1e-12


@pytest.mark.parametrize("kw", [dict(), dict(tie_weights=True), dict(n_kv_heads=1),
                                dict(n_experts=4, top_k=2)])
def test_closed_form_parameter_count(kw):
    config = LlamaConfig(**kw)
    assert llama_parameters(config) == Llama(config).num_parameters()


def test_a_mixture_of_experts_llama_keeps_its_router_logits():
    config = LlamaConfig(vocab_size=20, context_length=8, n_layers=3, d_model=16, d_ff=16,
                         n_experts=4, top_k=2)
    model = Llama(config)
    idx = torch.randint(0, 20, (2, 8))
    _, loss = model(idx, idx)
    logits = model.router_logits()
    assert len(logits) == 3 and logits[0].shape == (16, 4) and loss.isfinite()
    assert Llama(LlamaConfig()).router_logits() == []


@pytest.mark.parametrize("kw, message", [
    (dict(n_heads=4, n_kv_heads=3), "n_heads=4 is not a multiple of n_kv_heads=3"),
    (dict(d_model=12, n_heads=4), "d_model=12 must split into n_heads=4 heads of even width"),
    (dict(n_experts=4, top_k=5), "n_experts=4, top_k=5"),
    (dict(d_ff=0), "d_ff must be >= 1, got 0"),
])
def test_bad_configs_name_the_values(kw, message):
    with pytest.raises(ValueError, match=message):
        LlamaConfig(**kw)


def test_inputs_past_the_context_are_refused():
    model = Llama(LlamaConfig(context_length=8))
    with pytest.raises(ValueError, match="exceed context_length=8"):
        model(torch.zeros(1, 9, dtype=torch.long))


def hf_qwen3(n_heads: int, n_kv_heads: int):
    """A random tiny transformers Qwen3ForCausalLM (Llama plus per-head QK-norm) in float64."""
    hf_config = transformers.Qwen3Config(
        vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=n_heads, num_key_value_heads=n_kv_heads, head_dim=32 // n_heads,
        max_position_embeddings=40, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None, attn_implementation="sdpa")
    torch.manual_seed(0)
    theirs = transformers.Qwen3ForCausalLM(hf_config).double().eval()
    with torch.no_grad():  # norm weights start at 1; per-channel QK-norm weights test the layout
        for name, p in theirs.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    llama_in_dtype(theirs)
    return theirs, from_hf_llama(theirs.state_dict(), llama_config_from_hf(hf_config)).eval()


@pytest.mark.parametrize("n_heads, n_kv_heads", [(4, 2), (4, 1)])
def test_qk_norm_equal_to_transformers_qwen3_in_float64(n_heads, n_kv_heads):
    theirs, ours = hf_qwen3(n_heads, n_kv_heads)
    assert ours.config.qk_norm and ours.blocks[0].attn.q_norm is not None
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())
    assert llama_parameters(ours.config) == ours.num_parameters()
    idx = torch.randint(0, 61, (3, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(idx).logits
        got, _ = ours(idx)
        # the norm matters: the same weights without it give other logits
        plain = from_hf_llama({k: v for k, v in theirs.state_dict().items() if "_norm" not in k
                               or "layernorm" in k}, LlamaConfig(**{
                                   **ours.config.__dict__, "qk_norm": False})).eval()(idx)[0]
    assert (got - want).abs().max() <= 1e-10
    assert (plain - want).abs().max() > 1e-3


def test_qk_norm_bounds_every_score_by_the_norm_weights():
    torch.manual_seed(0)
    ours = Llama(LlamaConfig(vocab_size=11, n_layers=1, d_model=32, n_heads=4, n_kv_heads=2,
                             qk_norm=True, norm_eps=0.0)).double()
    attn = ours.blocks[0].attn
    with torch.no_grad():
        attn.q_proj.weight.mul_(1e3)  # huge projections: without the norm, huge scores
        attn.k_proj.weight.mul_(1e3)
        x = torch.randn(2, 9, 32, dtype=torch.float64)
        q, k = attn.queries_keys(x, x, 0, ours.rotary)
    D = 8
    # an RMS-normalised vector has length sqrt(D); RoPE keeps lengths; so |q . k| <= D
    assert torch.allclose(q.norm(dim=-1), torch.full_like(q.norm(dim=-1), D ** 0.5))
    scores = q @ k.repeat_interleave(2, dim=1).transpose(-2, -1) / D ** 0.5
    assert scores.abs().max() <= D ** 0.5 + 1e-9



# ---- sliding windows: Mistral, and Gemma's layer pattern ---------------------------------

def hf_mistral(window: int):
    """A random tiny transformers MistralForCausalLM with a sliding window, in float64, and ours."""
    hf_config = transformers.MistralConfig(
        vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        sliding_window=window, rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=None,
        eos_token_id=None, pad_token_id=None, attn_implementation="sdpa")
    torch.manual_seed(0)
    theirs = transformers.MistralForCausalLM(hf_config).double().eval()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    llama_in_dtype(theirs)
    return theirs, from_hf_llama(theirs.state_dict(), llama_config_from_hf(hf_config)).eval()


def test_equal_to_transformers_mistral_with_a_sliding_window_in_float64():
    theirs, ours = hf_mistral(window=6)
    assert ours.config.layer_windows() == [6, 6]
    idx = torch.randint(0, 61, (3, 20), generator=torch.Generator().manual_seed(1))  # 20 > 6
    with torch.no_grad():
        want = theirs(idx).logits
        assert (ours(idx)[0] - want).abs().max() <= 1e-10
        # the boundary: one key more or fewer is a different model
        for other in (5, 7):
            shifted = from_hf_llama(theirs.state_dict(), replace(ours.config, sliding_window=other))
            assert (shifted(idx)[0] - want).abs().max() > 1e-3
        # a chunked prefill through the rolling cache: the cache holds W - 1 positions, as theirs
        caches = ours.rolling_caches()
        chunked = torch.cat([ours.logits(idx[:, :13], caches), ours.logits(idx[:, 13:], caches)], 1)
        assert (chunked - want).abs().max() <= 1e-10 and caches[0].k.shape[-2] == 5


def test_same_greedy_tokens_as_transformers_mistral_past_the_window():
    theirs, ours = hf_mistral(window=6)
    prompt = torch.randint(0, 61, (2, 4), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = theirs.generate(prompt, max_new_tokens=20, do_sample=False, min_new_tokens=20)
        caches, seq = ours.rolling_caches(), prompt
        logits = ours.logits(prompt, caches)[:, -1]
        for _ in range(20):
            seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], 1)
            logits = ours.logits(seq[:, -1:], caches)[:, -1]
    assert torch.equal(seq, want)
    assert caches[0].seen == 24 and caches[0].k.shape[-2] == 5  # memory stays at the window
    assert len(set(seq[:, 4:].flatten().tolist())) > 1


@pytest.mark.parametrize("every, reference", [(2, transformers.Gemma2Config), (6, transformers.Gemma3TextConfig)])
def test_local_global_pattern_is_gemmas(every, reference):
    ours = LlamaConfig(n_layers=14, sliding_window=8, global_every=every).layer_windows()
    theirs = reference(num_hidden_layers=14).layer_types
    assert [w is None for w in ours] == [kind == "full_attention" for kind in theirs]
    with pytest.raises(ValueError, match="global_every=2"):
        LlamaConfig(global_every=2)  # no window to alternate with
