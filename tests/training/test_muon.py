"""--optimizer muon: Muon on the blocks' matrices, AdamW on the rest, driven as one optimiser."""

import math

import pytest
import torch
from torch import nn

from snippets.models.gpt import GPT, GPTConfig
from snippets.models.llama import Llama, LlamaConfig
from snippets.tokenizers.char import CharTokenizer
from snippets.training.checkpoint import load_checkpoint, save_checkpoint
from snippets.training.loop import (Optimizers, TrainConfig, TrainState, make_optimizer,
                                    param_groups, train, train_step)
from snippets.training.text_data import get_batch, train_val_split

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
TINY = dict(context_length=16, n_layers=2, n_heads=2, d_model=32)
MUON = TrainConfig(batch_size=4, max_steps=12, lr=1e-2, warmup_steps=2, eval_interval=6,
                   eval_iters=1, optimizer="muon")


def data() -> tuple[CharTokenizer, torch.Tensor, torch.Tensor]:
    tok = CharTokenizer.train(TEXT)
    train_data, val_data = train_val_split(torch.tensor(tok.encode(TEXT)), 0.1)
    return tok, train_data, val_data


def gpt(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=data()[0].vocab_size, **TINY))


@pytest.mark.parametrize("family", ["gpt", "llama"])
def test_muon_takes_the_blocks_matrices_and_adamw_everything_else(family):
    torch.manual_seed(0)
    model = gpt() if family == "gpt" else Llama(LlamaConfig(vocab_size=30, d_ff=48, n_kv_heads=1,
                                                           **TINY))
    muon, adamw = make_optimizer(model, MUON).optimizers
    names = {id(p): n for n, p in model.named_parameters()}
    by_muon = {names[id(p)] for g in muon.param_groups for p in g["params"]}
    by_adamw = {names[id(p)] for g in adamw.param_groups for p in g["params"]}
    linear = {n for n, m in model.blocks.named_modules() if isinstance(m, nn.Linear)}
    assert by_muon == {f"blocks.{n}.weight" for n in linear}   # every block projection
    assert not by_muon & by_adamw and by_muon | by_adamw == set(names.values())
    assert "wte.weight" in by_adamw                              # embeddings and the head
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    # AdamW keeps make_optimizer's weight-decay split for what it holds
    decayed = {names[id(p)] for p in param_groups(model, 0.1)[0]["params"]} - by_muon
    assert {names[id(p)] for g in adamw.param_groups if g["weight_decay"] > 0
            for p in g["params"]} == decayed


def test_one_step_is_torch_muon_on_the_matrices_and_adamw_on_the_rest():
    """The pair changes each parameter exactly as its own optimiser alone would."""
    tok, train_data, _ = data()
    x, y = get_batch(train_data, 4, 16, torch.Generator().manual_seed(0))
    ours, theirs = gpt(), gpt()
    opt = make_optimizer(ours, MUON)
    train_step(ours, opt, x, y, lr=MUON.lr, grad_clip=0.0)
    matrices = [p for p in theirs.blocks.parameters() if p.dim() == 2]
    others = [p for p in theirs.parameters() if all(p is not m for m in matrices)]
    reference = [torch.optim.Muon(matrices, lr=MUON.lr, weight_decay=0.1,
                                  adjust_lr_fn="match_rms_adamw"),
                 torch.optim.AdamW(others, lr=MUON.lr, betas=MUON.betas, weight_decay=0.0)]
    theirs(x, y)[1].backward()
    for o in reference:
        o.step()
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-6), name
    assert any(not torch.equal(a, b) for a, b in zip(ours.parameters(), gpt().parameters()))


def test_muon_trains_and_a_resumed_run_repeats_the_uninterrupted_one(tmp_path):
    tok, train_data, val_data = data()
    model = gpt(7)
    state = train(model, make_optimizer(model, MUON), train_data, val_data, MUON,
                  TrainState.fresh(7))
    whole = [row["val_loss"] for row in state.history]
    assert whole[-1] < whole[0] - 0.2 and whole[0] < math.log(tok.vocab_size)

    model = gpt(7)
    opt = make_optimizer(model, MUON)
    state = train(model, opt, train_data, val_data, MUON, TrainState.fresh(7), stop_at=6)
    save_checkpoint(tmp_path / "c.pt", model, tok, opt, MUON, state)
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt.train_config.optimizer == "muon"
    opt = make_optimizer(ckpt.model, ckpt.train_config)
    resumed = train(ckpt.model, opt, train_data, val_data, MUON, ckpt.restore(opt))
    assert [row["val_loss"] for row in resumed.history] == whole  # bit for bit on a CPU


def test_an_adamw_state_cannot_be_loaded_into_muon_and_adamw():
    model = gpt()
    saved = make_optimizer(model, TrainConfig()).state_dict()
    with pytest.raises(ValueError, match="saved by another optimiser"):
        make_optimizer(model, MUON).load_state_dict(saved)


def test_an_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="sgd")
    assert isinstance(make_optimizer(gpt(), TrainConfig()), torch.optim.AdamW)
    assert isinstance(make_optimizer(gpt(), MUON), Optimizers)
