"""Preparing weights for one-token steps changes where they sit and how the work is split,
never what the model computes."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets.layers import weight_layout
from snippets.layers.weight_layout import (SplitRowLinear, prepare_for_decoding, split_row_linear,
                                           store_input_major)
from snippets.models.gpt import GPT, GPTConfig


def tiny_gpt() -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=50, context_length=16, n_layers=2, n_heads=2, d_model=16)
    return GPT(config).double().eval()


def test_weights_keep_shape_values_and_identity_but_change_strides():
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    before = {name: (p, p.detach().clone()) for name, p in net.named_parameters()}
    assert store_input_major(net) == 2
    for name, p in net.named_parameters():
        same_object, values = before[name]
        assert p is same_object
        assert torch.equal(p, values)
        if name.endswith("weight"):
            assert p.stride() == (1, p.shape[0])


def test_a_tied_matrix_is_re_laid_once_and_stays_tied():
    model = tiny_gpt()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert model.lm_head.weight is model.wte.weight
    # every Linear but the head has its own matrix; the head shares the embedding's
    assert store_input_major(model) == len(linears)
    assert model.lm_head.weight is model.wte.weight
    assert model.wte.weight.stride() == (1, model.config.vocab_size)


def test_the_model_computes_the_same_logits_and_greedy_tokens():
    model = tiny_gpt()
    reference = copy.deepcopy(model)
    store_input_major(model)
    idx = torch.randint(0, 50, (3, 9), generator=torch.Generator().manual_seed(1))
    assert_close(model(idx)[0], reference(idx)[0], rtol=1e-12, atol=1e-12)
    prompt = idx[:, :1]
    assert torch.equal(model.generate(prompt, 12, temperature=0.0),
                       reference.generate(prompt, 12, temperature=0.0))


def test_calling_it_twice_changes_nothing():
    model = tiny_gpt()
    store_input_major(model)
    pointers = [p.data_ptr() for p in model.parameters()]
    store_input_major(model)
    assert [p.data_ptr() for p in model.parameters()] == pointers


def test_a_re_laid_model_trains_as_before():
    model = tiny_gpt().train()
    reference = copy.deepcopy(model)
    store_input_major(model)
    idx = torch.randint(0, 50, (4, 10), generator=torch.Generator().manual_seed(2))
    for net in (model, reference):
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
        for _ in range(3):
            loss = net(idx[:, :-1], idx[:, 1:])[1]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        assert_close(ours, theirs, rtol=1e-10, atol=1e-10, msg=name)


@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_a_split_one_row_product_equals_f_linear(parts):
    torch.manual_seed(0)
    layer = nn.Linear(12, 7).double()
    store_input_major(layer)
    x = torch.randn(1, 1, 12, dtype=torch.float64)
    assert_close(split_row_linear(x, layer.weight, layer.bias, parts),
                 F.linear(x, layer.weight, layer.bias), rtol=1e-12, atol=1e-12)
    assert split_row_linear(x, layer.weight, None, parts).shape == (1, 1, 7)


def test_split_row_linear_refuses_what_it_cannot_split():
    layer = nn.Linear(12, 7)
    with pytest.raises(ValueError, match="input-major"):
        split_row_linear(torch.randn(1, 12), layer.weight, layer.bias, 2)
    store_input_major(layer)
    with pytest.raises(ValueError, match="one row of 12"):
        split_row_linear(torch.randn(2, 12), layer.weight, layer.bias, 2)
    with pytest.raises(ValueError, match="parts=5"):
        split_row_linear(torch.randn(1, 12), layer.weight, layer.bias, 5)


def test_a_prepared_model_splits_one_row_steps_and_keeps_its_function(monkeypatch):
    monkeypatch.setattr(weight_layout, "SPLIT_MIN_BYTES", 0)  # the tiny model's matrices too
    model = tiny_gpt()
    reference = copy.deepcopy(model)
    reference.decoding_layout = False  # nn.Linear's own layout and product, even in generate
    keys = list(model.state_dict())
    threads = torch.get_num_threads()
    calls = []
    original = weight_layout.split_row_linear
    try:
        torch.set_num_threads(2)
        weight_layout.split_row_linear = lambda *args: calls.append(args[3]) or original(*args)
        assert prepare_for_decoding(model) == 13
        assert all(type(m) is SplitRowLinear for m in model.modules() if isinstance(m, nn.Linear))
        assert list(model.state_dict()) == keys and model.lm_head.weight is model.wte.weight
        prompt = torch.tensor([[3]])
        assert torch.equal(model.generate(prompt, 12, temperature=0.0),
                           reference.generate(prompt, 12, temperature=0.0))
        assert calls and set(calls) == {2}  # the one-row steps ran split, over two threads
        calls.clear()
        idx = torch.randint(0, 50, (3, 9), generator=torch.Generator().manual_seed(1))
        assert_close(model(idx)[0], reference(idx)[0], rtol=1e-12, atol=1e-12)
        assert not calls  # many rows: plain nn.Linear
    finally:
        torch.set_num_threads(threads)
        weight_layout.split_row_linear = original


def test_matrices_below_the_size_threshold_are_not_split(monkeypatch):
    threads = torch.get_num_threads()
    calls = []
    original = weight_layout.split_row_linear
    monkeypatch.setattr(weight_layout, "split_row_linear",
                        lambda *args: calls.append(args[1].shape) or original(*args))
    small, large = nn.Linear(64, 64), nn.Linear(512, 1024)  # 16 KB and 2 MB of float32
    prepare_for_decoding(small), prepare_for_decoding(large)
    try:
        torch.set_num_threads(2)
        small(torch.randn(1, 64)), large(torch.randn(1, 512))
    finally:
        torch.set_num_threads(threads)
    assert calls == [(1024, 512)]


def tiny_models() -> list[nn.Module]:
    from snippets.models.llama import Llama, LlamaConfig

    torch.manual_seed(0)
    return [tiny_gpt(), Llama(LlamaConfig(vocab_size=50, context_length=16, n_layers=2, n_heads=2,
                                          n_kv_heads=1, d_model=16, d_ff=32)).double().eval()]


@pytest.mark.parametrize("index", [0, 1], ids=["GPT", "Llama"])
def test_generate_lays_the_weights_out_for_decoding_and_train_lays_them_back(index):
    model = tiny_models()[index]
    plain = copy.deepcopy(model)
    plain.decoding_layout = False
    prompt = torch.tensor([[3]])
    assert torch.equal(model.generate(prompt, 12, temperature=0.0),
                       plain.generate(prompt, 12, temperature=0.0))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert all(type(m) is SplitRowLinear and m.weight.t().is_contiguous() for m in linears)
    assert all(type(m) is nn.Linear and m.weight.is_contiguous()
               for m in plain.modules() if isinstance(m, nn.Linear))
    model.train()
    assert all(m.weight.is_contiguous() for m in linears)  # nn.Linear's own layout again
    model.generate(prompt, 2)  # called in training mode: decodes prepared, hands back trainable
    assert model.training and all(m.weight.is_contiguous() for m in linears)


def test_a_model_that_generated_between_steps_trains_bit_for_bit_like_one_that_did_not():
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=50, context_length=16, n_layers=2, n_heads=2, d_model=16)
    models = [GPT(config), None]
    models[1] = copy.deepcopy(models[0])
    optimizers = [torch.optim.AdamW(m.parameters(), lr=1e-2) for m in models]
    idx = torch.randint(0, 50, (4, 16), generator=torch.Generator().manual_seed(1))
    for step in range(4):
        if step == 2:  # the trainer's habit: evaluate, sample, carry on
            models[1].eval()
            models[1].generate(idx[:1, :3], 5, temperature=0.0)
            models[1].train()
        for model, optimizer in zip(models, optimizers):
            loss = model(idx[:, :-1], idx[:, 1:])[1]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b) and a.stride() == b.stride()
