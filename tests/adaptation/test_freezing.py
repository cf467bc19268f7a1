"""Freezing the bottom blocks, gradual unfreezing and layer-wise learning-rate decay."""

import pytest
import torch

from snippets.adaptation.freezing import (
    adam_state_bytes, freeze_bottom, layerwise_lr_groups, make_optimizer, trainable_parameters,
    unfreeze_schedule)
from snippets.models.gpt import GPT, GPTConfig


def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, context_length=8, n_layers=4, n_heads=2, d_model=16))


def test_freeze_bottom_stops_gradients_below_and_only_below():
    m = model()
    freeze_bottom(m, 2)
    idx = torch.randint(0, 11, (2, 8))
    m(idx, idx)[1].backward()
    for i, block in enumerate(m.blocks):
        for p in block.parameters():
            assert (p.grad is None) == (i < 2)
    assert m.wte.weight.grad is None and m.ln_f.weight.grad is not None
    per_block = sum(p.numel() for p in m.blocks[0].parameters())
    assert trainable_parameters(m) == 2 * per_block + sum(p.numel() for p in m.ln_f.parameters())
    assert adam_state_bytes(m) == 2 * 4 * trainable_parameters(m)


def test_unfreeze_schedule_thaws_one_block_per_epoch():
    assert [unfreeze_schedule(4, e) for e in range(6)] == [4, 3, 2, 1, 0, 0]


def test_tied_head_trains_with_the_embeddings_and_an_untied_one_at_the_top_rate():
    tied = {g["name"]: g for g in layerwise_lr_groups(model(), lr=1e-3, decay=0.5)}
    assert sum(p.numel() for p in tied["top"]["params"]) == 2 * 16  # only ln_f's weight, bias
    torch.manual_seed(0)
    untied = GPT(GPTConfig(vocab_size=11, context_length=8, n_layers=4, n_heads=2, d_model=16,
                           tie_weights=False))
    groups = {g["name"]: g for g in layerwise_lr_groups(untied, lr=1e-3, decay=0.5)}
    assert any(p is untied.lm_head.weight for p in groups["top"]["params"])
    assert groups["embeddings"]["lr"] == pytest.approx(1e-3 / 16)


def test_layerwise_decay_gives_geometric_learning_rates():
    m = model()
    groups = layerwise_lr_groups(m, lr=1e-3, decay=0.5)
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs == pytest.approx({"embeddings + tied head": 1e-3 / 16, "block 1": 1e-3 / 8,
                                 "block 2": 1e-3 / 4, "block 3": 1e-3 / 2, "block 4": 1e-3,
                                 "top": 1e-3})
    every = [id(p) for g in groups for p in g["params"]]
    assert sorted(every) == sorted(id(p) for p in m.parameters())  # each exactly once
    make_optimizer(groups)


def test_bad_freezing_arguments_raise():
    with pytest.raises(ValueError, match=r"n_frozen=5 must be in \[0, 4\]"):
        freeze_bottom(model(), 5)
    with pytest.raises(ValueError, match="decay must be in"):
        layerwise_lr_groups(model(), 1e-3, 0.0)
