"""BertAdam against torch's AdamW, its uncorrected first step, layer-wise rates, re-initialisation."""

import math

import pytest
import torch

from snippets.models.bert import BertConfig, BertModel
from snippets.training.stable_finetuning import BertAdam, layerwise_lr_groups, reinit_top_layers


def run(optimizer_cls, steps: int = 6, **kwargs) -> torch.Tensor:
    """A float64 weight driven by the same sequence of gradients."""
    w = torch.nn.Parameter(torch.linspace(-1, 1, 12, dtype=torch.float64).view(3, 4))
    opt = optimizer_cls([w], **kwargs)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        w.grad = torch.randn(3, 4, generator=g, dtype=torch.float64)
        opt.step()
    return w.detach()


def test_bias_corrected_bert_adam_is_torch_adamw():
    ours = run(BertAdam, lr=1e-2, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, bias_correction=True)
    torch_adamw = run(torch.optim.AdamW, lr=1e-2, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)
    torch.testing.assert_close(ours, torch_adamw, rtol=0, atol=1e-14)


def test_without_bias_correction_the_first_step_is_3_16_times_larger():
    lr, grad = 1e-3, torch.tensor([2.0, -0.5, 1e-2], dtype=torch.float64)
    moves = {}
    for corrected in (False, True):
        w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        w.grad = grad.clone()
        BertAdam([w], lr=lr, eps=1e-12, bias_correction=corrected).step()
        moves[corrected] = -w.detach() / lr
    torch.testing.assert_close(moves[True], grad.sign())                              # Adam: lr sign(g)
    torch.testing.assert_close(moves[False], grad.sign() * 0.1 / math.sqrt(0.001))   # 3.162 lr sign(g)
    with pytest.raises(ValueError, match="betas"):
        BertAdam([w], betas=(0.9, 1.0))


def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(vocab_size=50, max_positions=16, n_layers=3, n_heads=2, d_model=16, d_ff=32))


def test_layerwise_rates_decay_from_the_top_and_cover_every_parameter_once():
    bert, head = tiny_bert(), torch.nn.Linear(16, 3)
    groups = layerwise_lr_groups(bert, head, lr=1.0, decay=0.5)
    assert [g["lr"] for g in groups] == [0.125, 0.25, 0.5, 1.0, 1.0]   # embeddings, blocks 0-2, head
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(bert.parameters())) + len(list(head.parameters()))
    with pytest.raises(ValueError, match="decay"):
        layerwise_lr_groups(bert, head, lr=1.0, decay=0.0)


def test_reinit_changes_only_the_top_blocks_and_the_pooler():
    bert = tiny_bert()
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    torch.manual_seed(1)
    reinit_top_layers(bert, 1)
    changed = {k for k, v in bert.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("blocks.2.", "pooler.")) for k in changed)
    assert any(k.startswith("blocks.2.attn") for k in changed) and "pooler.weight" in changed
    with pytest.raises(ValueError, match="n must be"):
        reinit_top_layers(bert, 4)
