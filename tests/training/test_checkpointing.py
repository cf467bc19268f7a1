"""Activation checkpointing: the same gradients, far less activation memory."""
import copy

import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.accounting import training_memory
from snippets.training.activation_checkpointing import checkpoint_blocks
from snippets.training.checkpoint import load_checkpoint, save_checkpoint


def model_and_batch(dropout: float = 0.0, **shape) -> tuple[GPT, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=32, dropout=dropout, **shape)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 32, (4, config.context_length), generator=g)
    y = torch.randint(0, 32, (4, config.context_length), generator=g)
    return GPT(config), x, y


def test_checkpointed_blocks_give_the_same_loss_and_gradients_even_with_dropout():
    plain, x, y = model_and_batch(dropout=0.1, context_length=16, n_layers=3, n_heads=2,
                                  d_model=16)
    plain = plain.double()
    wrapped = copy.deepcopy(plain)
    assert checkpoint_blocks(wrapped) == 3
    results = []
    for model in (plain, wrapped):
        torch.manual_seed(5)  # the same dropout masks, drawn again in the recomputation
        loss = model(x, y)[1]
        loss.backward()
        results.append((loss, [p.grad for p in model.parameters()]))
    (loss_a, grads_a), (loss_b, grads_b) = results
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-14, atol=0)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-15)


def test_a_checkpointed_model_saves_the_plain_model_checkpoint(tmp_path):
    model, x, _ = model_and_batch(context_length=8, n_layers=2, n_heads=2, d_model=16)
    keys = list(model.state_dict())
    checkpoint_blocks(model)
    assert list(model.state_dict()) == keys
    tok = CharTokenizer.train("".join(chr(97 + i) for i in range(32)))
    save_checkpoint(tmp_path / "c.pt", model, tok)
    loaded = load_checkpoint(tmp_path / "c.pt").model  # a plain GPT
    torch.testing.assert_close(loaded(x)[0], model(x)[0], rtol=0, atol=0)


def test_checkpointing_cuts_the_activation_memory_of_a_deep_model():
    """8 blocks at T = 64: each keeps its intermediates (attention's inputs and output, the
    4C-wide MLP hidden, the norms' inputs). Checkpointed, the forward keeps one (B, T, C) input
    per block; the backward's peak adds one block's intermediates while it is recomputed."""
    model, x, y = model_and_batch(context_length=64, n_layers=8, n_heads=4, d_model=64)
    B, T, C = 4, 64, 64
    plain = training_memory(model, x, y)
    checkpoint_blocks(model)
    wrapped = training_memory(model, x, y)
    assert wrapped.activations < 0.2 * plain.activations, (plain, wrapped)
    one_input_per_block = 8 * B * T * C * 4
    assert plain.activations - wrapped.activations > 8 * one_input_per_block
    assert wrapped.step_peak < 0.6 * plain.step_peak
