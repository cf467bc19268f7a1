"""Core building blocks against torch: LayerNorm, RMSNorm, and the encoder layer."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from snippets.blocks import SelfAttentionBlock
from snippets.normalization import LayerNorm, RMSNorm


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


@pytest.mark.parametrize("norm_first", [True, False])
def test_self_attention_block_matches_torch_encoder_layer(norm_first):
    torch.manual_seed(0)
    ours = SelfAttentionBlock(16, 4, 32, norm_first=norm_first, activation="relu").eval()
    reference = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True,
                                           norm_first=norm_first).eval()
    with torch.no_grad():
        a = ours.attn
        reference.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        reference.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        reference.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        reference.linear1.load_state_dict(ours.ffn.up.state_dict())
        reference.linear2.load_state_dict(ours.ffn.down.state_dict())
        reference.norm1.load_state_dict(ours.norm1.state_dict())
        reference.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(2, 7, 16)
    assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)
    causal = nn.Transformer.generate_square_subsequent_mask(7)
    assert_close(ours(x, is_causal=True), reference(x, src_mask=causal, is_causal=True),
                 atol=1e-5, rtol=1e-5)
