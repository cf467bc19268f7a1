import copy
import math

import pytest
import torch
import transformers
from transformers.models.deepseek_v3.modeling_deepseek_v3 import (DeepseekV3Attention,
                                                                  DeepseekV3RotaryEmbedding,
                                                                  yarn_apply_mscale)

from snippets.layers.attention import kv_cache_bytes
from snippets.layers.latent_attention import (LatentCache, MLAConfig, MultiHeadLatentAttention,
                                              decode_flops, latent_cache_bytes, mla_from_hf,
                                              yarn_softmax_scale)
from snippets.models.float64_reference import rms_norm_in_dtype, rotary_in_dtype
from snippets.models.llama import half_to_interleaved

# widths all different, so that a mixed-up split cannot pass
C, H, D_Q, D_C, D_N, D_R, D_V = 32, 4, 12, 16, 8, 6, 10


def deepseek_pair(q_lora_rank: int | None, interleave: bool = True):
    """A random transformers DeepseekV3Attention in float64, its float32 islands lifted, and ours
    with its weights; and the module that gives their (cos, sin)."""
    hf_config = transformers.DeepseekV3Config(
        hidden_size=C, num_attention_heads=H, num_key_value_heads=H, q_lora_rank=q_lora_rank,
        kv_lora_rank=D_C, qk_nope_head_dim=D_N, qk_rope_head_dim=D_R, v_head_dim=D_V,
        max_position_embeddings=64, rope_interleave=interleave, attn_implementation="sdpa")
    torch.manual_seed(0)
    theirs = DeepseekV3Attention(hf_config, layer_idx=0)
    for name, p in theirs.named_parameters():  # norms start at 1: make them matter too
        torch.nn.init.uniform_(p, 0.5, 1.5) if "layernorm" in name else torch.nn.init.normal_(p, std=0.3)
    theirs = theirs.double().eval()
    for norm in (theirs.q_a_layernorm, theirs.kv_a_layernorm):
        if norm is not None:
            rms_norm_in_dtype(norm)   # DeepseekV3RMSNorm computes in float32
    rotary = DeepseekV3RotaryEmbedding(hf_config)
    rotary_in_dtype(rotary, hf_config.rope_parameters["rope_theta"], D_R)
    state = theirs.state_dict()
    if not interleave:  # their pairs (i, i + d_R/2): move the rotary rows to (2i, 2i + 1)
        name = "q_proj.weight" if q_lora_rank is None else "q_b_proj.weight"
        q = state[name].view(H, D_N + D_R, -1)
        q = torch.cat([q[:, :D_N], half_to_interleaved(q[:, D_N:].reshape(H * D_R, -1), H)
                       .view(H, D_R, -1)], dim=1)
        kv = state["kv_a_proj_with_mqa.weight"]
        state = state | {name: q.reshape(H * (D_N + D_R), -1),
                         "kv_a_proj_with_mqa.weight": torch.cat(
                             [kv[:D_C], half_to_interleaved(kv[D_C:], 1)])}
        hf_config = copy.copy(hf_config)  # ours only: the weights are now interleaved
        hf_config.rope_interleave = True
    ours = mla_from_hf(state, hf_config).eval()
    return theirs, ours, rotary


def their_output(theirs, rotary, x: torch.Tensor) -> torch.Tensor:
    B, T, _ = x.shape
    positions = torch.arange(T).expand(B, T)
    mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1).expand(B, 1, T, T)
    return theirs(x, rotary(x, positions), mask)[0]


@pytest.mark.parametrize("q_lora_rank, interleave", [(D_Q, True), (None, True), (D_Q, False)])
def test_equal_to_transformers_deepseek_v3_attention_in_float64(q_lora_rank, interleave):
    theirs, ours, rotary = deepseek_pair(q_lora_rank, interleave)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    x = torch.randn(3, 9, C, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = their_output(theirs, rotary, x)
        got = ours(x)
        got_absorbed = ours(x, absorb=True)
        # causal: the first 5 positions do not see the last 4
        early = ours(x[:, :5])
    assert got.shape == (3, 9, C) and want.std() > 0.1
    assert (got - want).abs().max() <= 1e-10
    assert (got_absorbed - want).abs().max() <= 1e-10
    assert (early - want[:, :5]).abs().max() <= 1e-10
    assert ours.config.scale == theirs.scaling == (D_N + D_R) ** -0.5


def test_rope_layout_matters():
    theirs, ours, rotary = deepseek_pair(D_Q, interleave=False)
    x = torch.randn(2, 6, C, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    state = theirs.state_dict()  # loaded without the permutation: other scores
    theirs.config.rope_interleave = True
    wrong = mla_from_hf(state, theirs.config).eval()
    theirs.config.rope_interleave = False
    with torch.no_grad():
        assert (wrong(x) - their_output(theirs, rotary, x)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="rope_interleave=False"):
        mla_from_hf(state, theirs.config)


def test_absorbed_decode_equals_naive_decode_step_by_step():
    torch.manual_seed(0)
    mla = MultiHeadLatentAttention(MLAConfig(d_model=C, n_heads=H, q_lora_rank=D_Q, kv_lora_rank=D_C,
                                             qk_nope_head_dim=D_N, qk_rope_head_dim=D_R,
                                             v_head_dim=D_V)).double().eval()
    x = torch.randn(2, 10, C, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    naive, absorbed = mla.new_cache(2, 10), mla.new_cache(2, 10)
    with torch.no_grad():
        full = mla(x)                                   # no cache: the whole sequence at once
        outs_naive = [mla(x[:, :4], naive)]             # prompt of 4, then one token at a time
        outs_absorbed = [mla(x[:, :4], absorbed, absorb=True)]
        for t in range(4, 10):
            outs_naive.append(mla(x[:, t:t + 1], naive))
            outs_absorbed.append(mla(x[:, t:t + 1], absorbed, absorb=True))
            assert (outs_absorbed[-1] - outs_naive[-1]).abs().max() <= 1e-12
    assert naive.length == absorbed.length == 10
    assert torch.equal(naive.c_kv, absorbed.c_kv)     # the same cache in both paths
    assert (torch.cat(outs_naive, 1) - full).abs().max() <= 1e-12
    assert (torch.cat(outs_absorbed, 1) - full).abs().max() <= 1e-12
    assert full.std() > 0.01


def test_the_cache_holds_the_latent_and_one_rotary_key_only():
    cache = LatentCache(2, 5, D_C, D_R)
    assert cache.c_kv.shape == (2, 5, D_C) and cache.k_rope.shape == (2, 5, D_R)
    cache.append(torch.ones(2, 3, D_C), torch.ones(2, 3, D_R))
    with pytest.raises(ValueError, match="appending 3 to 3 overflows"):
        cache.append(torch.ones(2, 3, D_C), torch.ones(2, 3, D_R))
    with pytest.raises(ValueError, match="latent cache holds c_kv"):
        cache.append(torch.ones(2, 1, D_C + 1), torch.ones(2, 1, D_R))


def test_cache_bytes_per_token_by_hand():
    # DeepSeek-V3: 61 layers x (512 + 64) numbers x 2 bytes; the paper's 4.5 d_h l elements
    assert latent_cache_bytes(61, 512, 64) == 61 * 576 * 2 == 70_272
    assert latent_cache_bytes(60, 512, 64, bytes_per_value=1) == 4.5 * 128 * 60
    # Llama-2-7B (MHA, 32 layers x 32 heads x 128): 2 x 32 x 4096 x 2 bytes = 512 KiB
    assert kv_cache_bytes(32, 32, 128) == 2**19
    with pytest.raises(ValueError, match="kv_lora_rank"):
        latent_cache_bytes(1, 0, 64)


def test_yarn_softmax_scale_equals_transformers():
    v3 = {"rope_type": "yarn", "factor": 40.0, "mscale_all_dim": 1.0, "mscale": 1.0}
    assert yarn_softmax_scale(192, 40.0, 1.0) == pytest.approx(yarn_apply_mscale(v3, 192 ** -0.5), rel=1e-15)
    assert yarn_softmax_scale(192) == yarn_apply_mscale({"rope_type": "default"}, 192 ** -0.5)
    assert yarn_softmax_scale(192, 40.0, 1.0) * math.sqrt(192) == pytest.approx(1.8739, abs=1e-4)


def test_absorbed_decode_does_fewer_flops_at_deepseek_widths():
    v3 = MLAConfig(d_model=7168, n_heads=128, q_lora_rank=1536, kv_lora_rank=512,
                   qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128)
    one = decode_flops(v3, 1)
    assert one["naive"] == 2 * 128 * 512 * 256 + 2 * 128 * 320
    assert one["absorbed"] == 2 * 128 * 512 * 256 + 2 * 128 * 1088
    long = decode_flops(v3, 4096)
    assert long["naive"] > 100 * long["absorbed"]


def test_bad_shapes_are_refused():
    mla = MultiHeadLatentAttention(MLAConfig())
    with pytest.raises(ValueError, match=r"x must be \(B, T, 64\)"):
        mla(torch.zeros(1, 3, 63))
    with pytest.raises(ValueError, match="qk_rope_head_dim even"):
        MLAConfig(qk_rope_head_dim=5)
