import pickle

import pytest
import torch

from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import TrainConfig, TrainState, make_optimizer

TEXT = "to be or not to be, that is the question. " * 20


def tiny(vocab: int) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, context_length=16, n_layers=1, n_heads=2, d_model=16))


@pytest.mark.parametrize("make_tokenizer", [lambda: CharTokenizer.train(TEXT),
                                            lambda: ByteLevelBPE.train(TEXT, 270)])
def test_round_trip_keeps_weights_tokenizer_and_config(tmp_path, make_tokenizer):
    tok = make_tokenizer()
    model = tiny(tok.vocab_size)
    save_checkpoint(tmp_path / "m.pt", model, tok)
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt.model.config == model.config
    assert type(ckpt.tokenizer) is type(tok) and ckpt.tokenizer.encode(TEXT) == tok.encode(TEXT)
    idx = torch.tensor([tok.encode("to be")])
    torch.testing.assert_close(ckpt.model(idx)[0], model(idx)[0], rtol=0, atol=0)
    assert ckpt.model.lm_head.weight is ckpt.model.wte.weight  # tying survives the round trip


def test_optimiser_and_rng_state_are_restored(tmp_path):
    tok = CharTokenizer.train(TEXT)
    model = tiny(tok.vocab_size)
    config = TrainConfig(batch_size=2, max_steps=10, warmup_steps=1)
    opt = make_optimizer(model, config)
    model(torch.tensor([[1, 2, 3]]), torch.tensor([[2, 3, 4]]))[1].backward()
    opt.step()
    state = TrainState.fresh(5)
    state.step = 3
    state.batch_rng.manual_seed(11)
    save_checkpoint(tmp_path / "m.pt", model, tok, opt, config, state)
    expected_next = torch.randint(0, 1000, (4,), generator=torch.Generator().manual_seed(11))
    ckpt = load_checkpoint(tmp_path / "m.pt")
    opt2 = make_optimizer(ckpt.model, ckpt.train_config)
    resumed = ckpt.restore(opt2)
    assert resumed.step == 3 and ckpt.train_config == config
    assert torch.equal(torch.randint(0, 1000, (4,), generator=resumed.batch_rng), expected_next)
    torch.testing.assert_close(opt2.state_dict()["state"][0]["exp_avg"],
                               opt.state_dict()["state"][0]["exp_avg"])


def test_a_generation_only_checkpoint_cannot_resume(tmp_path):
    tok = CharTokenizer.train(TEXT)
    model = tiny(tok.vocab_size)
    save_checkpoint(tmp_path / "m.pt", model, tok)
    ckpt = load_checkpoint(tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="cannot resume"):
        ckpt.restore(torch.optim.AdamW(ckpt.model.parameters()))


def test_corrupt_truncated_and_missing_files_are_clear_errors(tmp_path):
    tok = CharTokenizer.train(TEXT)
    save_checkpoint(tmp_path / "m.pt", tiny(tok.vocab_size), tok)
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    for name in ("cut.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


class Payload:
    def __reduce__(self):  # what a malicious pickle does: call something on load
        return (print, ("owned",))


def test_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "x", "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="unsafe|not a readable"):
        load_checkpoint(path)
    assert "owned" not in capsys.readouterr().out


def test_mismatched_checkpoints_are_clear_errors(tmp_path):
    tok = CharTokenizer.train(TEXT)
    model = tiny(tok.vocab_size)
    save_checkpoint(tmp_path / "m.pt", model, tok)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)

    bad = dict(payload, format="someone-else/3")
    torch.save(bad, tmp_path / "fmt.pt")
    with pytest.raises(CheckpointError, match="format 'someone-else/3'"):
        load_checkpoint(tmp_path / "fmt.pt")

    bad = dict(payload, model_config={**payload["model_config"], "d_model": 32})
    torch.save(bad, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(tmp_path / "shape.pt")

    bad = dict(payload, model_config={**payload["model_config"], "vocab_size": 99})
    torch.save(bad, tmp_path / "vocab.pt")
    with pytest.raises(CheckpointError, match="tokenizer has"):
        load_checkpoint(tmp_path / "vocab.pt")

    bad = dict(payload, model_config={**payload["model_config"], "n_experts": 8})
    torch.save(bad, tmp_path / "field.pt")
    with pytest.raises(CheckpointError, match="does not match GPTConfig"):
        load_checkpoint(tmp_path / "field.pt")


def test_generation_from_a_checkpoint_is_deterministic_under_a_seed(tmp_path):
    tok = CharTokenizer.train(TEXT)
    save_checkpoint(tmp_path / "m.pt", tiny(tok.vocab_size), tok)
    idx = torch.tensor([tok.encode("to")])
    outs = []
    for _ in range(2):
        model = load_checkpoint(tmp_path / "m.pt").model.eval()
        outs.append(model.generate(idx, 20, temperature=1.0, top_k=5,
                                   generator=torch.Generator().manual_seed(3)))
    assert torch.equal(outs[0], outs[1])
    other = model.generate(idx, 20, top_k=5, generator=torch.Generator().manual_seed(4))
    assert not torch.equal(outs[0], other)
