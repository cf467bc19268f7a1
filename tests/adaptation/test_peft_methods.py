"""(IA)³, prompt tuning and prefix tuning on our GPT equal peft's on transformers' GPT-2
with the same base and adapter weights."""

import os

import pytest
import torch
from torch.testing import assert_close

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import peft  # noqa: E402

from snippets.adaptation.freezing import trainable_parameters  # noqa: E402
from snippets.adaptation.ia3 import add_ia3  # noqa: E402
from snippets.adaptation.prefix_tuning import Prefix, prefix_tuned_logits  # noqa: E402
from snippets.adaptation.prompt_tuning import SoftPrompt, prompt_tuned_logits  # noqa: E402
from tests.models.test_gpt import hf_pair  # noqa: E402

C, L, H = 32, 3, 4


def test_ia3_equals_peft():
    hf, ours = hf_pair()
    # peft's GPT-2 default: rescale c_attn's output (q, k and v) and mlp.c_proj's input
    theirs = peft.get_peft_model(hf, peft.IA3Config(task_type="CAUSAL_LM"))
    add_ia3(ours, ["q_proj", "k_proj", "v_proj", "ffn.down"], feedforward=["ffn.down"])
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for i in range(L):
            h = theirs.base_model.model.transformer.h[i]
            qkv = h.attn.c_attn.ia3_l["default"]                    # (3C, 1)
            ff = h.mlp.c_proj.ia3_l["default"]                      # (1, 4C)
            qkv.copy_(1 + 0.3 * torch.randn(qkv.shape, generator=g))
            ff.copy_(1 + 0.3 * torch.randn(ff.shape, generator=g))
            block = ours.blocks[i]
            for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
                getattr(block.attn, name).scale.copy_(qkv[j * C:(j + 1) * C, 0])
            block.ffn.down.scale.copy_(ff[0])
    assert trainable_parameters(ours) == theirs.get_nb_trainable_parameters()[0] == L * 7 * C
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)


def test_prompt_tuning_equals_peft():
    hf, ours = hf_pair()
    P = 5
    theirs = peft.get_peft_model(hf, peft.PromptTuningConfig(task_type="CAUSAL_LM",
                                                             num_virtual_tokens=P))
    prompt = SoftPrompt(P, C, init=theirs.prompt_encoder["default"].embedding.weight)
    for p in ours.parameters():
        p.requires_grad_(False)
    assert sum(p.numel() for p in prompt.parameters()) == theirs.get_nb_trainable_parameters()[0]
    idx = torch.randint(0, 37, (2, 24 - P))
    with torch.no_grad():
        expected = theirs(input_ids=idx).logits                     # (B, P + T, V)
        assert_close(prompt_tuned_logits(ours, prompt, idx), expected, atol=1e-5, rtol=1e-4)


def test_prefix_tuning_equals_peft_including_gradients():
    hf, ours = hf_pair()
    P = 4
    theirs = peft.get_peft_model(hf, peft.PrefixTuningConfig(task_type="CAUSAL_LM",
                                                             num_virtual_tokens=P))
    prefix = Prefix(P, L, H, C // H)
    table = theirs.prompt_encoder["default"].embedding.weight      # (P, L * 2 * C)
    with torch.no_grad():
        prefix.table.copy_(table)
    for p in ours.parameters():
        p.requires_grad_(False)
    assert prefix.table.numel() == theirs.get_nb_trainable_parameters()[0] == P * L * 2 * C
    idx = torch.randint(0, 37, (2, 24 - P))
    mine = prefix_tuned_logits(ours, prefix, idx)                   # (B, T, V)
    expected = theirs(input_ids=idx, attention_mask=torch.ones_like(idx)).logits
    assert_close(mine, expected, atol=1e-5, rtol=1e-4)
    mine.square().mean().backward()
    expected.square().mean().backward()
    assert_close(prefix.table.grad, table.grad, atol=1e-6, rtol=1e-4)


def test_prompt_methods_reject_too_long_inputs():
    _, ours = hf_pair()
    with pytest.raises(ValueError, match="exceeds context_length=24"):
        prompt_tuned_logits(ours, SoftPrompt(5, C), torch.zeros(1, 20, dtype=torch.long))
    with pytest.raises(ValueError, match="exceeds context_length=24"):
        prefix_tuned_logits(ours, Prefix(5, L, H, C // H), torch.zeros(1, 20, dtype=torch.long))
    with pytest.raises(ValueError, match="n_virtual must be >= 1"):
        SoftPrompt(0, C)
