"""DoRA: identity at B = 0, equality with peft's use_dora=True (outputs, gradients, one AdamW
step, merged weights, counts), the detached norm, and LoRA+'s parameter groups."""

import copy
import os

import pytest
import torch
from torch.testing import assert_close

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import peft  # noqa: E402
from peft.optimizers import create_loraplus_optimizer  # noqa: E402

from snippets.adaptation.dora import DoRALinear, add_dora, lora_plus_param_groups  # noqa: E402
from snippets.adaptation.freezing import trainable_parameters  # noqa: E402
from snippets.adaptation.lora import add_lora, lora_layers, merge_lora  # noqa: E402
from tests.adaptation.test_lora import OURS_TO_HF  # noqa: E402
from tests.models.test_gpt import hf_pair  # noqa: E402


def their_layer(theirs, i: int, name: str):
    return theirs.base_model.model.transformer.h[i].get_submodule(name)


def peft_and_ours(r: int = 4, alpha: float = 8.0):
    """The same random GPT-2 twice, DoRA on the same layers, the same A, non-zero B and m ≠ ‖W‖."""
    hf, ours = hf_pair()
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, use_dora=True,
                             target_modules=list(OURS_TO_HF.values()), fan_in_fan_out=True)
    theirs = peft.get_peft_model(hf, config)
    add_dora(ours, list(OURS_TO_HF), r=r, alpha=alpha)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for i in range(ours.config.n_layers):
            for mine, their_name in OURS_TO_HF.items():
                layer, other = ours.get_submodule(f"blocks.{i}.{mine}"), their_layer(theirs, i, their_name)
                # peft initialised m from the same W: equal before we touch anything
                assert_close(layer.magnitude, other.lora_magnitude_vector["default"].weight)
                layer.lora_B.normal_(generator=g)
                layer.magnitude.mul_(1 + 0.2 * torch.rand(layer.magnitude.shape, generator=g))
                other.lora_A["default"].weight.copy_(layer.lora_A)
                other.lora_B["default"].weight.copy_(layer.lora_B)
                other.lora_magnitude_vector["default"].weight.copy_(layer.magnitude)
    return theirs, ours


def test_fresh_dora_gives_exactly_the_base_output():
    _, base = hf_pair()
    adapted = copy.deepcopy(base)
    add_dora(adapted, ["q_proj", "ffn.up"], r=4, alpha=8, generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        assert_close(adapted(idx)[0], base(idx)[0], atol=1e-6, rtol=1e-5)


def test_outputs_equal_peft():
    theirs, ours = peft_and_ours()
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)


def loss_of(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.reshape(-1, 37), targets.reshape(-1))


def test_gradients_equal_peft_including_the_magnitude():
    theirs, ours = peft_and_ours()
    idx, targets = torch.randint(0, 37, (2, 24)), torch.randint(0, 37, (2, 24))
    loss_of(ours(idx)[0], targets).backward()
    loss_of(theirs(idx).logits, targets).backward()
    for i in range(3):
        for mine, their_name in OURS_TO_HF.items():
            layer, other = ours.get_submodule(f"blocks.{i}.{mine}"), their_layer(theirs, i, their_name)
            assert_close(layer.lora_A.grad, other.lora_A["default"].weight.grad, atol=1e-6, rtol=1e-4)
            assert_close(layer.lora_B.grad, other.lora_B["default"].weight.grad, atol=1e-6, rtol=1e-4)
            assert_close(layer.magnitude.grad, other.lora_magnitude_vector["default"].weight.grad,
                         atol=1e-6, rtol=1e-4)


def test_one_adamw_step_gives_equal_adapter_weights():
    theirs, ours = peft_and_ours()
    idx, targets = torch.randint(0, 37, (2, 24)), torch.randint(0, 37, (2, 24))
    for model, logits_of in ((ours, lambda m: m(idx)[0]), (theirs, lambda m: m(idx).logits)):
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
        loss_of(logits_of(model), targets).backward()
        opt.step()
    for i in range(3):
        for mine, their_name in OURS_TO_HF.items():
            layer, other = ours.get_submodule(f"blocks.{i}.{mine}"), their_layer(theirs, i, their_name)
            assert_close(layer.lora_B, other.lora_B["default"].weight, atol=1e-6, rtol=1e-5)
            assert_close(layer.magnitude, other.lora_magnitude_vector["default"].weight,
                         atol=1e-6, rtol=1e-5)


def test_merged_outputs_equal_peft_and_unmerged():
    theirs, ours = peft_and_ours()
    idx = torch.randint(0, 37, (2, 24))
    with torch.no_grad():
        before = ours(idx)[0]
        merge_lora(ours)
        theirs.merge_adapter()
        assert_close(ours(idx)[0], theirs(idx).logits, atol=1e-5, rtol=1e-4)
        assert_close(ours(idx)[0], before, atol=1e-5, rtol=1e-4)
    with pytest.raises(RuntimeError, match="cannot be read back"):
        lora_layers(ours)[0].unmerge()


def test_trainable_parameter_count_equals_peft_and_adds_c_out_per_layer():
    theirs, ours = peft_and_ours(r=4)
    trainable, _ = theirs.get_nb_trainable_parameters()
    assert trainable_parameters(ours) == trainable
    C, L = 32, 3  # LoRA's r (C_in + C_out) plus m's C_out for C->C, C->4C and 4C->C
    assert trainable == L * (4 * ((C + C) + (C + 4 * C) + (4 * C + C)) + (C + 4 * C + C))


def test_the_norm_is_detached_so_m_alone_carries_the_scale():
    """With ‖W + ΔW‖ constant in backward, ∂L/∂B is (m/‖V‖) times LoRA's ∂L/∂B for the same V."""
    torch.manual_seed(0)
    base = torch.nn.Linear(6, 5, bias=False).double()
    dora = DoRALinear(base, r=2, alpha=2.0)
    with torch.no_grad():
        dora.lora_B.normal_()
    x = torch.randn(3, 6, dtype=torch.float64)
    dora(x).sum().backward()
    scale = (dora.magnitude / dora.weight_norm()).detach()               # (C_out,)
    lora = copy.deepcopy(dora)
    lora_out = super(DoRALinear, lora).forward  # plain LoRA on the same W, A, B
    lora.lora_B.grad = None
    (lora_out(x) * scale).sum().backward()
    assert_close(dora.lora_B.grad, lora.lora_B.grad)
    assert_close(dora.lora_A.grad, lora.lora_A.grad)


def test_lora_plus_groups_match_peft():
    theirs, ours = peft_and_ours()
    groups = lora_plus_param_groups(ours, lr=1e-3, ratio=16)
    assert [g["lr"] for g in groups] == [1e-3, 1.6e-2]
    opt = create_loraplus_optimizer(theirs, torch.optim.AdamW, lr=1e-3, loraplus_lr_ratio=16)
    for ours_group in groups:  # same number of parameters at each learning rate
        theirs_n = sum(p.numel() for g in opt.param_groups if g["lr"] == ours_group["lr"]
                       for p in g["params"])
        assert sum(p.numel() for p in ours_group["params"]) == theirs_n > 0


def test_lora_plus_needs_adapters():
    _, model = hf_pair()
    add_lora(model, ["q_proj"], r=2, alpha=4)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable lora_B"):
        lora_plus_param_groups(model, lr=1e-3)
