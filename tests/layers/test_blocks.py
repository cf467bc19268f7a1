"""Core building blocks against torch: LayerNorm, RMSNorm, the FFN variants, the encoder
and decoder layers, and gradient norms at initialisation."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from snippets.layers.blocks import DecoderBlock, SelfAttentionBlock, gradient_norms_per_layer
from snippets.layers.feedforward import FeedForward
from snippets.layers.normalization import LayerNorm, RMSNorm


def test_layer_norm_matches_torch():
    torch.manual_seed(0)
    ours, reference = LayerNorm(12), nn.LayerNorm(12)
    with torch.no_grad():
        ours.weight.normal_(), ours.bias.normal_()
        reference.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 12) * 4 + 2
    assert_close(ours(x), reference(x))


def test_rms_norm_matches_torch():
    torch.manual_seed(0)
    ours, reference = RMSNorm(12), nn.RMSNorm(12, eps=1e-6)
    with torch.no_grad():
        ours.weight.normal_()
        reference.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, 12) * 4
    assert_close(ours(x), reference(x))


def _copy_mha(ours, theirs) -> None:
    theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
    theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
    theirs.out_proj.load_state_dict(ours.out_proj.state_dict())


@pytest.mark.parametrize("norm_first", [True, False])
def test_self_attention_block_matches_torch_encoder_layer(norm_first):
    torch.manual_seed(0)
    ours = SelfAttentionBlock(16, 4, 32, norm_first=norm_first, activation="relu").eval()
    reference = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True,
                                           norm_first=norm_first).eval()
    with torch.no_grad():
        _copy_mha(ours.attn, reference.self_attn)
        reference.linear1.load_state_dict(ours.ffn.up.state_dict())
        reference.linear2.load_state_dict(ours.ffn.down.state_dict())
        reference.norm1.load_state_dict(ours.norm1.state_dict())
        reference.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(2, 7, 16)
    assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)
    causal = nn.Transformer.generate_square_subsequent_mask(7)
    assert_close(ours(x, is_causal=True), reference(x, src_mask=causal, is_causal=True),
                 atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_block_matches_torch_decoder_layer(norm_first):
    torch.manual_seed(0)
    ours = DecoderBlock(16, 4, 32, norm_first=norm_first, activation="relu").eval()
    reference = nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, batch_first=True,
                                           norm_first=norm_first).eval()
    with torch.no_grad():
        _copy_mha(ours.self_attn, reference.self_attn)
        _copy_mha(ours.cross_attn, reference.multihead_attn)
        reference.linear1.load_state_dict(ours.ffn.up.state_dict())
        reference.linear2.load_state_dict(ours.ffn.down.state_dict())
        for i in (1, 2, 3):
            getattr(reference, f"norm{i}").load_state_dict(getattr(ours, f"norm{i}").state_dict())
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    keep = torch.ones(2, 7, dtype=torch.bool)
    keep[1, 4:] = False  # second source has 3 padding positions
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    expected = reference(x, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=~keep)
    assert_close(ours(x, memory, memory_mask=keep[:, None, None, :]), expected, atol=1e-5, rtol=1e-5)


def test_decoder_block_is_causal_in_the_target():
    torch.manual_seed(0)
    block = DecoderBlock(16, 4, 32).eval()
    x, memory = torch.randn(1, 6, 16), torch.randn(1, 4, 16)
    changed = x.clone()
    changed[:, 4:] += 1.0  # change the future
    assert_close(block(x, memory)[:, :4], block(changed, memory)[:, :4])
    assert not torch.allclose(block(x, memory)[:, 4:], block(changed, memory)[:, 4:])


def test_decoder_block_rejects_bad_shapes():
    block = DecoderBlock(16, 4, 32)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    with pytest.raises(ValueError, match=r"memory_mask shape \(2, 1, 1, 6\)"):
        block(x, memory, memory_mask=torch.ones(2, 1, 1, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="memory_mask"):
        block(x, memory, memory_mask=torch.ones(3, 1, 1, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="memory must be"):
        block(x, torch.randn(2, 7, 8))
    with pytest.raises(ValueError, match="d_model=16 is not divisible by n_heads=3"):
        DecoderBlock(16, 3, 32)


@pytest.mark.parametrize("activation", ["relu", "gelu", "swiglu"])
def test_feed_forward_variants_by_hand(activation):
    torch.manual_seed(0)
    ffn = FeedForward(8, 12, activation=activation)
    x = torch.randn(2, 3, 8)
    h = x @ ffn.up.weight.T + ffn.up.bias
    if activation == "relu":
        hidden = h.clamp(min=0)
    elif activation == "gelu":  # x * Phi(x), Phi the standard normal CDF
        hidden = h * 0.5 * (1 + torch.erf(h / 2 ** 0.5))
    else:  # Swish(x W) * (x V)
        gate = x @ ffn.gate.weight.T + ffn.gate.bias
        hidden = gate * torch.sigmoid(gate) * h
    assert_close(ffn(x), hidden @ ffn.down.weight.T + ffn.down.bias)
    assert sum(p.numel() for p in ffn.parameters()) == (3 if activation == "swiglu" else 2) * 8 * 12 + \
        (2 if activation == "swiglu" else 1) * 12 + 8


def test_post_ln_last_layer_gradient_does_not_shrink_with_depth_pre_ln_does():
    pre = [gradient_norms_per_layer(True, n_layers=n)[-1] for n in (3, 24)]
    post = [gradient_norms_per_layer(False, n_layers=n)[-1] for n in (3, 24)]
    assert pre[1] < 0.75 * pre[0]           # Pre-LN: about 1/sqrt(L) (Xiong et al., 2020)
    assert 0.8 < post[1] / post[0] < 1.25   # Post-LN: independent of L
