import dataclasses

import pytest
import torch
import transformers

from snippets.models.float64_reference import modernbert_in_dtype
from snippets.models.modernbert import (ModernBert, ModernBertConfig, from_hf_modernbert,
                                        layer_masks, local_window_mask, modernbert_config_from_hf,
                                        modernbert_parameters)


def hf_modernbert(n_layers: int = 4, local_attention: int = 8):
    """A random tiny transformers ModernBertModel in float64, and ours with its weights."""
    hf_config = transformers.ModernBertConfig(
        vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=n_layers,
        num_attention_heads=4, max_position_embeddings=64, local_attention=local_attention,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2,
        attn_implementation="sdpa")
    torch.manual_seed(0)
    theirs = transformers.ModernBertModel(hf_config).double().eval()
    with torch.no_grad():  # weights large enough that attention, not the residual, dominates
        for name, p in theirs.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
            elif "embeddings" not in name:
                p.normal_(0.0, p.shape[1] ** -0.5)
    ours = from_hf_modernbert(theirs.state_dict(), modernbert_config_from_hf(hf_config)).eval()
    return theirs, ours


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Three sequences of 30 tokens, the second padded after 20, the third after 5."""
    ids = torch.randint(3, 97, (3, 30), generator=torch.Generator().manual_seed(1))
    attention_mask = torch.ones_like(ids)
    attention_mask[1, 20:] = attention_mask[2, 5:] = 0
    return ids.masked_fill(attention_mask == 0, 0), attention_mask


def test_config_is_read_from_transformers_defaults():
    hf = transformers.ModernBertConfig()  # ModernBERT-base's numbers
    config = modernbert_config_from_hf(hf)
    assert (config.global_every, config.local_window) == (3, 128)
    assert (config.global_rope_base, config.local_rope_base) == (160_000.0, 10_000.0)
    assert [config.is_global(i) for i in range(7)] == [True, False, False, True, False, False, True]


def test_equal_to_transformers_modernbert_in_float64_on_a_sequence_longer_than_the_window():
    theirs, ours = hf_modernbert()
    assert ours.config.local_window == 8 and ours.config.global_every == 3
    assert modernbert_parameters(ours.config) == sum(p.numel() for p in theirs.parameters())
    assert modernbert_parameters(ours.config) == sum(p.numel() for p in ours.parameters())
    ids, _ = padded_batch()
    with torch.no_grad(), modernbert_in_dtype(theirs):
        want = theirs(ids).last_hidden_state
        got = ours(ids)
    assert got.dtype == torch.float64 and got.shape == (3, 30, 32)
    assert (got - want).abs().max() <= 1e-10
    assert want.std() > 0.1


def test_equal_to_transformers_with_padding_at_every_real_token():
    theirs, ours = hf_modernbert()
    ids, attention_mask = padded_batch()
    with torch.no_grad(), modernbert_in_dtype(theirs):
        want = theirs(ids, attention_mask=attention_mask).last_hidden_state
        got = ours(ids, attention_mask)
    real = attention_mask.bool()
    assert (got - want)[real].abs().max() <= 1e-10
    # the padding really is hidden: the real tokens' states do not change with what it holds
    with torch.no_grad():
        other = ours(ids.masked_fill(~real, 50), attention_mask)
    assert (other - got)[real].abs().max() <= 1e-12


def test_the_local_global_alternation_changes_the_output():
    _, ours = hf_modernbert()
    ids, _ = padded_batch()
    one_base = dataclasses.replace(ours.config, local_rope_base=ours.config.global_rope_base)
    alternating = ModernBert(one_base).double().eval()           # only the masks differ now
    all_global = ModernBert(dataclasses.replace(one_base, global_every=1)).double().eval()
    alternating.load_state_dict(ours.state_dict())
    all_global.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert (all_global(ids) - alternating(ids)).abs().max() > 0.1
        short = ids[:, :5]  # |i - j| <= 4 everywhere: the window hides nothing
        assert (all_global(short) - alternating(short)).abs().max() <= 1e-12
        assert (alternating(short) - ours(short)).abs().max() > 1e-3  # the two RoPE bases differ


def test_the_stock_reference_agrees_only_to_float32_rounding():
    theirs, ours = hf_modernbert()
    ids, _ = padded_batch()
    with torch.no_grad():
        gap = (theirs(ids).last_hidden_state - ours(ids)).abs().max()
    assert 1e-9 < gap <= 1e-5  # q and k rotated in float32 there


def test_local_window_mask_and_layer_masks():
    band = local_window_mask(6, 4)
    assert band[0].tolist() == [True, True, True, False, False, False]  # |i - j| <= 2
    assert band.sum() == 6 + 2 * 5 + 2 * 4
    global_keep, local_keep = layer_masks(torch.tensor([[1, 1, 1, 0, 0, 0]]), 2)
    assert global_keep.shape == (1, 1, 1, 6) and local_keep.shape == (1, 1, 6, 6)
    assert local_keep[0, 0, 1].tolist() == [True, True, True, False, False, False]
    assert local_keep[0, 0, 5].all()  # a padding query with no real key in reach sees all
    with pytest.raises(ValueError, match="window=0"):
        local_window_mask(4, 0)


@pytest.mark.parametrize("make, message", [
    (lambda: torch.zeros(2, 3), "LongTensor"),
    (lambda: torch.zeros(1, 300, dtype=torch.long), "300 exceeds context_length=256"),
    (lambda: torch.full((1, 4), 600), r"\[600\] are outside \[0, 512\)"),
])
def test_bad_inputs_name_the_problem(make, message):
    with pytest.raises(ValueError, match=message):
        ModernBert(ModernBertConfig())(make())


def test_bad_masks_and_configs_name_the_values():
    model = ModernBert(ModernBertConfig())
    ids = torch.ones(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"attention_mask shape \(2, 5\)"):
        model(ids, torch.ones(2, 5))
    with pytest.raises(ValueError, match="hides every token"):
        model(ids, torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="d_model=30 must split into n_heads=4"):
        ModernBertConfig(d_model=30)
    with pytest.raises(ValueError, match="global_every must be >= 1, got 0"):
        ModernBertConfig(global_every=0)
