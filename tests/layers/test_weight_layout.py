"""store_input_major changes where weights sit, never what the model computes."""

import copy

import torch
from torch import nn
from torch.testing import assert_close

from snippets.layers.weight_layout import store_input_major
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
