import math

import pytest
import torch

from snippets.models.llama import Llama, LlamaConfig
from snippets.training.stability import max_attention_logits, output_z_loss


def test_output_z_loss_by_hand():
    # two positions over V = 2: logits (0, 0) -> log Z = ln 2; (ln 3, ln 5) -> log Z = ln 8
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), math.log(5.0)]]], dtype=torch.float64)
    want = 1e-4 * (math.log(2.0) ** 2 + math.log(8.0) ** 2) / 2
    assert output_z_loss(logits).item() == pytest.approx(want, rel=1e-12)
    # shifting every logit of a position by s leaves cross-entropy alone but moves log Z by s
    shifted = logits + torch.tensor([[[-math.log(2.0)], [-math.log(8.0)]]], dtype=torch.float64)
    assert output_z_loss(shifted).item() == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(ValueError, match="logits must be"):
        output_z_loss(torch.zeros(3))


@pytest.mark.parametrize("qk_norm", [False, True])
def test_max_attention_logit_is_the_largest_visible_score(qk_norm):
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=11, context_length=8, n_layers=2, d_model=16, n_heads=2,
                              n_kv_heads=1, d_ff=24, qk_norm=qk_norm, attn_impl="ours")).double().eval()
    idx = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(1))
    got = max_attention_logits(model, idx)
    # by hand for block 0: its input is the embedding, normed
    attn, x = model.blocks[0].attn, model.blocks[0].norm1(model.wte(idx))
    with torch.no_grad():
        q, k = attn.queries_keys(x, x, 0, model.rotary)
        scores = q @ k.transpose(-2, -1) / math.sqrt(8)          # (B, 2, T, T), k broadcast
    visible = torch.ones(8, 8, dtype=torch.bool).tril()
    assert len(got) == 2
    assert got[0] == pytest.approx(scores[..., visible].abs().max().item(), rel=1e-12)
    assert not model.blocks[0].attn._forward_pre_hooks  # hooks removed
