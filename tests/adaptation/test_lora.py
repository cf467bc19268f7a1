"""LoRA: identity at B = 0, equality with peft (unmerged, merged, counts, one AdamW step),
merge precision, and clear errors."""

import copy
import os
import warnings

import pytest
import torch
from torch.testing import assert_close

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import peft  # noqa: E402
import transformers  # noqa: E402

from snippets.adaptation.freezing import trainable_parameters  # noqa: E402
from snippets.adaptation.lora import (  # noqa: E402
    LoRALinear, add_lora, lora_layers, merge_lora, unmerge_lora)
from tests.models.test_gpt import hf_pair  # noqa: E402

# our GPT's module names and transformers GPT-2's, for the layers both store separately
OURS_TO_HF = {"attn.out_proj": "attn.c_proj", "ffn.up": "mlp.c_fc", "ffn.down": "mlp.c_proj"}


def peft_and_ours(r: int = 4, alpha: float = 8.0, rslora: bool = False):
    """The same random GPT-2 twice, LoRA on the same layers, the same non-zero A and B."""
    hf, ours = hf_pair()
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, use_rslora=rslora,
                             target_modules=list(OURS_TO_HF.values()), fan_in_fan_out=True)
    theirs = peft.get_peft_model(hf, config)
    add_lora(ours, list(OURS_TO_HF), r=r, alpha=alpha, rslora=rslora)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for i in range(ours.config.n_layers):
            for mine, their_name in OURS_TO_HF.items():
                layer = ours.get_submodule(f"blocks.{i}.{mine}")
                other = theirs.base_model.model.transformer.h[i].get_submodule(their_name)
                layer.lora_B.normal_(generator=g)  # B = 0 would hide every mistake but one
                other.lora_A["default"].weight.copy_(layer.lora_A)
                other.lora_B["default"].weight.copy_(layer.lora_B)
    return theirs, ours


def test_zero_b_gives_exactly_the_base_output():
    _, base = hf_pair()
    adapted = copy.deepcopy(base)
    add_lora(adapted, ["q_proj", "v_proj", "ffn.up"], r=4, alpha=16,
             generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 37, (2, 24))
    assert torch.equal(adapted(idx)[0], base(idx)[0])
    assert all(layer.lora_A.abs().sum() > 0 for layer in lora_layers(adapted))


def test_unmerged_outputs_equal_peft():
    theirs, ours = peft_and_ours()
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)


def test_rslora_outputs_equal_peft():
    theirs, ours = peft_and_ours(r=8, alpha=4.0, rslora=True)
    assert lora_layers(ours)[0].scaling == pytest.approx(4.0 / 8 ** 0.5)
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)


def test_merged_outputs_equal_peft_and_unmerged():
    theirs, ours = peft_and_ours()
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        before = ours(idx)[0]
        merge_lora(ours)
        theirs.merge_adapter()
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)
        assert_close(ours(idx)[0], before, atol=1e-5, rtol=1e-4)


def test_trainable_parameter_counts_equal_peft():
    theirs, ours = peft_and_ours(r=4)
    trainable, _ = theirs.get_nb_trainable_parameters()
    assert trainable_parameters(ours) == trainable
    C, L = 32, 3  # per layer: r (C_in + C_out) for C->C, C->4C and 4C->C
    assert trainable == L * 4 * ((C + C) + (C + 4 * C) + (4 * C + C))


def test_one_adamw_step_gives_equal_adapter_weights():
    theirs, ours = peft_and_ours()
    idx = torch.randint(0, 37, (2, 24))
    targets = torch.randint(0, 37, (2, 24))
    for model, logits_of in ((ours, lambda m: m(idx)[0]), (theirs, lambda m: m(idx).logits)):
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1)
        loss = torch.nn.functional.cross_entropy(logits_of(model).reshape(-1, 37),
                                                 targets.reshape(-1))
        loss.backward()
        opt.step()
    for i in range(3):
        for mine, their_name in OURS_TO_HF.items():
            layer = ours.get_submodule(f"blocks.{i}.{mine}")
            other = theirs.base_model.model.transformer.h[i].get_submodule(their_name)
            assert_close(layer.lora_A, other.lora_A["default"].weight, atol=1e-6, rtol=1e-5)
            assert_close(layer.lora_B, other.lora_B["default"].weight, atol=1e-6, rtol=1e-5)


def test_conv1d_layout_equals_peft_on_fused_c_attn():
    """GPT-2's Conv1D stores W as (C_in, C_out): our wrapper adapts it in place."""
    hf, _ = hf_pair()
    mine = copy.deepcopy(hf)
    theirs = peft.get_peft_model(hf, peft.LoraConfig(r=2, lora_alpha=4, target_modules=["c_attn"],
                                                     fan_in_fan_out=True))
    names = add_lora(mine, ["c_attn"], r=2, alpha=4)
    assert names == [f"transformer.h.{i}.attn.c_attn" for i in range(3)]
    with torch.no_grad():
        for name in names:
            layer, other = mine.get_submodule(name), theirs.base_model.model.get_submodule(name)
            layer.lora_B.normal_()
            other.lora_A["default"].weight.copy_(layer.lora_A)
            other.lora_B["default"].weight.copy_(layer.lora_B)
        idx = torch.randint(0, 37, (2, 24))
        assert_close(mine(idx).logits, theirs(idx).logits, atol=1e-5, rtol=1e-4)
        merge_lora(mine)
        theirs.merge_adapter()
        assert_close(mine(idx).logits, theirs(idx).logits, atol=1e-5, rtol=1e-4)


def test_dropout_acts_on_the_adapter_input_only():
    base = torch.nn.Linear(16, 8)
    layer = LoRALinear(base, r=4, alpha=4, dropout=0.5)
    x = torch.randn(64, 16)
    assert torch.equal(layer.train()(x), base(x))  # B = 0: dropout cannot reach the output
    with torch.no_grad():
        layer.lora_B.normal_()
    assert not torch.allclose(layer.train()(x), layer.eval()(x))
    assert_close(layer.eval()(x), base(x) + x @ layer.delta_weight().T)


def test_merge_then_unmerge_restores_w_in_fp32():
    torch.manual_seed(0)
    base = torch.nn.Linear(256, 256)
    W0 = base.weight.detach().clone()
    layer = LoRALinear(base, r=8, alpha=16)
    with torch.no_grad():
        layer.lora_B.normal_(std=0.02)
    layer.merge()
    layer.unmerge()
    # one rounding on the way in, one on the way out: |error| <= 2 ulp of the larger of W, W + ΔW
    bound = 2 * torch.finfo(torch.float32).eps * (W0.abs() + layer.delta_weight().abs())
    assert ((base.weight - W0).abs() <= bound).all()


def bf16_layer_with_small_update(std: float) -> tuple[LoRALinear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    base = torch.nn.Linear(256, 256).to(torch.bfloat16)
    layer = LoRALinear(base, r=8, alpha=16)
    with torch.no_grad():
        layer.lora_B.normal_(std=std)  # a trained adapter's ΔW is small next to W
    return layer, base.weight.detach().double().clone(), layer.delta_weight().double()


def test_merging_in_bf16_loses_small_updates_and_says_how_many():
    layer, W0, delta = bf16_layer_with_small_update(1e-4)
    with pytest.warns(UserWarning, match="erased .* of ΔW's non-zero entries"):
        reported = layer.merge()
    landed = layer.base.weight.double() - W0
    lost = (landed == 0) & (delta != 0)
    assert reported == pytest.approx(lost[delta != 0].double().mean().item())
    assert reported > 0.5
    # an update below a quarter of W's bf16 spacing (2^-9..2^-8 |w|) always rounds away,
    # even though merge() formed W + ΔW in fp32 before the single cast
    assert lost[(delta != 0) & (delta.abs() < 2.0 ** -10 * W0.abs())].all()


def test_wider_formats_keep_what_bf16_erases():
    _, W0, delta = bf16_layer_with_small_update(1e-3)  # median |ΔW|/|W| about 0.5%
    lost = {}
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        stored = W0.to(dtype)  # the same weights, stored in each format
        merged = (stored.double() + delta).to(dtype)
        lost[dtype] = ((merged == stored) & (delta != 0)).double().mean().item()
    # fp16 has 3 more significand bits than bf16, fp32 16 more: each loses far fewer entries
    assert lost[torch.float16] < lost[torch.bfloat16] / 4
    assert lost[torch.float32] < 1e-3
    # served unmerged, the update is added to the output and no entry of ΔW is lost
    x = torch.randn(4, 256, dtype=torch.float64)
    unmerged = x @ W0.T + x @ delta.T
    assert_close(unmerged - x @ W0.T, x @ delta.T)


def test_merge_below_the_threshold_is_silent_and_float64_stays_exact():
    layer, _, _ = bf16_layer_with_small_update(1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layer.merge(max_lost=1.0) > 0.5  # reported, not warned about
    torch.manual_seed(0)
    base = torch.nn.Linear(16, 16).double()
    W0 = base.weight.detach().clone()
    layer = LoRALinear(base, r=4, alpha=8)
    with torch.no_grad():
        layer.lora_B.normal_(std=1e-9)  # tiny, but far above float64's resolution
    assert layer.merge() == 0.0
    assert_close(base.weight, W0 + layer.delta_weight(), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="max_lost"):
        LoRALinear(torch.nn.Linear(8, 4), r=2, alpha=1).merge(max_lost=2.0)


def test_bad_inputs_raise_clear_errors():
    _, model = hf_pair()
    with pytest.raises(ValueError, match="'qkv' matches no module"):
        add_lora(model, ["qkv"], r=4, alpha=8)
    with pytest.raises(ValueError, match="rank r=0"):
        LoRALinear(torch.nn.Linear(8, 4), r=0, alpha=1)
    with pytest.raises(ValueError, match="rank r=5"):
        LoRALinear(torch.nn.Linear(8, 4), r=5, alpha=1)
    with pytest.raises(TypeError, match="Embedding"):
        LoRALinear(torch.nn.Embedding(8, 4), r=1, alpha=1)
    layer = LoRALinear(torch.nn.Linear(8, 4), r=2, alpha=1)
    with pytest.raises(RuntimeError, match="not merged"):
        layer.unmerge()
    layer.merge()
    with pytest.raises(RuntimeError, match="already merged"):
        layer.merge()
    add_lora(model, ["q_proj"], r=2, alpha=2)
    merge_lora(model)
    unmerge_lora(model)
    with pytest.raises(RuntimeError, match="not merged"):
        unmerge_lora(model)
