import math

import pytest
import torch
from torch import nn

from snippets.training.checkpoint import load_checkpoint, save_checkpoint
from snippets.tokenizers.char import CharTokenizer
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.text_data import get_batch, train_val_split
from snippets.training.loop import (TrainConfig, TrainState, bits_per_character, evaluate,
                               make_optimizer, param_groups, train)

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
TINY = dict(context_length=16, n_layers=2, n_heads=2, d_model=32)


def setup(seed: int = 0, bias: bool = True) -> tuple[GPT, CharTokenizer, torch.Tensor, torch.Tensor]:
    tok = CharTokenizer.train(TEXT)
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, bias=bias, **TINY))
    train_data, val_data = train_val_split(torch.tensor(tok.encode(TEXT)), 0.1)
    return model, tok, train_data, val_data


def test_decay_goes_to_linear_matrices_only():
    model, *_ = setup()
    decay, rest = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and rest["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    kept = {names[id(p)] for p in rest["params"]}
    assert "wte.weight" in kept and "wpe.weight" in kept            # embeddings (and the tied head)
    assert all(not n.endswith("bias") for n in decayed)
    assert all(isinstance(model.get_submodule(n.rsplit(".", 1)[0]), nn.Linear) for n in decayed)
    assert any("ln" in n or "norm" in n for n in kept)
    # per block q, k, v, out, up, down
    assert len(decayed) == 2 * 6 and len(decayed | kept) == len(list(model.parameters()))


def test_loss_at_initialisation_is_near_ln_vocab():
    model, tok, train_data, _ = setup()
    x, y = get_batch(train_data, 8, 16, torch.Generator().manual_seed(0))
    loss = model(x, y)[1].item()
    assert abs(loss - math.log(tok.vocab_size)) < 0.1


def test_a_model_overfits_one_batch():
    model, _, train_data, _ = setup()
    x, y = get_batch(train_data, 4, 16, torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(80):
        loss = model(x, y)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


def test_training_lowers_validation_loss_and_evaluation_is_repeatable():
    model, _, train_data, val_data = setup()
    config = TrainConfig(batch_size=8, max_steps=30, lr=3e-3, warmup_steps=3, eval_interval=15,
                         eval_iters=2)
    before = evaluate(model, val_data, 8, 16, 2, seed=1)
    assert evaluate(model, val_data, 8, 16, 2, seed=1) == before
    state = train(model, make_optimizer(model, config), train_data, val_data, config,
                  TrainState.fresh(0))
    assert [row["step"] for row in state.history] == [15, 30]
    assert state.history[-1]["val_loss"] < before - 0.5


def setup_dropout(seed: int) -> tuple[GPT, CharTokenizer, torch.Tensor, torch.Tensor]:
    tok = CharTokenizer.train(TEXT)
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, dropout=0.1, **TINY))
    train_data, val_data = train_val_split(torch.tensor(tok.encode(TEXT)), 0.1)
    return model, tok, train_data, val_data


@pytest.mark.parametrize("restore_dropout_stream", [True, False])
def test_resuming_reproduces_the_uninterrupted_run_exactly(tmp_path, restore_dropout_stream):
    """With dropout on, the global random stream decides the masks: losing it must show."""
    config = TrainConfig(batch_size=4, max_steps=12, lr=3e-3, warmup_steps=2, eval_interval=6,
                         eval_iters=1)
    losses_a: list[float] = []
    state = TrainState.fresh(7)
    model, tok, train_data, val_data = setup_dropout(7)
    train(model, make_optimizer(model, config), train_data, val_data, config, state,
          on_step=lambda s, loss, lr: losses_a.append(loss))

    state = TrainState.fresh(7)
    model, tok, train_data, val_data = setup_dropout(7)
    opt = make_optimizer(model, config)
    losses_b: list[float] = []
    train(model, opt, train_data, val_data, config, state, stop_at=5,
          on_step=lambda s, loss, lr: losses_b.append(loss))
    save_checkpoint(tmp_path / "c.pt", model, tok, opt, config, state)
    torch.manual_seed(999)  # scramble the global stream: resuming must restore it
    ckpt = load_checkpoint(tmp_path / "c.pt")
    opt = make_optimizer(ckpt.model, ckpt.train_config)
    resumed = ckpt.restore(opt)
    if not restore_dropout_stream:  # what a checkpoint without the global RNG state gives
        torch.manual_seed(999)
    assert resumed.step == 5
    train(ckpt.model, opt, train_data, val_data, ckpt.train_config, resumed,
          on_step=lambda s, loss, lr: losses_b.append(loss))
    assert losses_b[:5] == losses_a[:5]
    if restore_dropout_stream:
        assert losses_b == losses_a  # bit-for-bit on CPU
    else:
        assert losses_b[5:] != losses_a[5:]  # the test can see a lost dropout stream


def test_the_run_stops_at_the_first_evaluation_that_reaches_the_target():
    model, _, train_data, val_data = setup()
    free = TrainConfig(batch_size=8, max_steps=30, lr=3e-3, warmup_steps=3, eval_interval=5,
                       eval_iters=2)
    state = train(model, make_optimizer(model, free), train_data, val_data, free,
                  TrainState.fresh(0))
    losses = [row["val_loss"] for row in state.history]
    target = (losses[2] + losses[3]) / 2 if losses[3] < losses[2] else None
    assert target is not None and min(losses[:3]) > target  # first reached at the 4th evaluation
    model, _, train_data, val_data = setup()
    stopping = TrainConfig(**{**free.__dict__, "target_loss": target})
    state = train(model, make_optimizer(model, stopping), train_data, val_data, stopping,
                  TrainState.fresh(0))
    assert state.step == 20 and [row["val_loss"] for row in state.history] == losses[:4]
    with pytest.raises(ValueError, match="target_loss must be a finite number > 0"):
        TrainConfig(target_loss=float("nan"))


def test_bits_per_character():
    assert bits_per_character(math.log(2), 10, 10) == pytest.approx(1.0)
    assert bits_per_character(2.0, 50, 100) == pytest.approx(1.0 / math.log(2))
    with pytest.raises(ValueError):
        bits_per_character(1.0, 0, 10)


def test_a_diverging_run_stops_before_its_nan_reaches_the_weights():
    from snippets.training.loop import DivergedError

    model, tok, train_data, val_data = setup()
    config = TrainConfig(batch_size=4, max_steps=20, lr=1e6, min_lr=1e5, warmup_steps=1,
                         eval_interval=20, eval_iters=1)
    state = TrainState.fresh(0)
    with pytest.raises(DivergedError, match=r"step \d+: training diverged: loss .* gradient norm"):
        train(model, make_optimizer(model, config), train_data, val_data, config, state)
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the last good weights
    assert 0 < state.step < 20


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0])
def test_a_learning_rate_without_meaning_is_refused(lr):
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=lr)
