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


# --- Every way a file can be wrong is a CheckpointError that names it (issue 15) -----------

@pytest.fixture
def saved(tmp_path):
    tok = CharTokenizer.train(TEXT)
    save_checkpoint(tmp_path / "m.pt", tiny(tok.vocab_size), tok)
    return tmp_path / "m.pt", torch.load(tmp_path / "m.pt", weights_only=True)


def write(path, payload):
    torch.save(payload, path)
    return path


def test_a_text_file_and_a_directory_are_clear_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world\n")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "notes.txt")
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("model_config"), "no model config"),
    (lambda p: p.update(model_config=[1, 2]), "no model config"),
    (lambda p: p.update(model=[1, 2]), "'model' field is not a dict of tensors"),
    (lambda p: p.update(model={"wte.weight": "x"}), "'model' field is not a dict of tensors"),
    (lambda p: p.update(tokenizer="{not json"), "'tokenizer' field is not a tokenizer's JSON"),
    (lambda p: p.update(tokenizer=None), "'tokenizer' field is not a tokenizer's JSON"),
    (lambda p: p.update(tokenizer='{"type": "char"}'), "char tokenizer cannot be rebuilt"),
    (lambda p: p.update(tokenizer='[1, 2]'), "unknown tokenizer type"),
    (lambda p: p.update(model_config={**p["model_config"], "d_model": -3}), "does not match GPTConfig"),
    (lambda p: p.pop("model_sha256"), "SHA-256"),
])
def test_malformed_payloads_are_clear_errors(tmp_path, saved, change, message):
    _, payload = saved
    change(payload)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(write(tmp_path / "bad.pt", payload))


def test_one_flipped_bit_in_the_weights_is_caught(tmp_path, saved):
    _, payload = saved
    w = payload["model"]["blocks.0.ffn.up.weight"]
    w.view(torch.int32)[0, 0] ^= 1 << 3                       # one bit of one float
    with pytest.raises(CheckpointError, match="do not match their SHA-256"):
        load_checkpoint(write(tmp_path / "flip.pt", payload))


def test_a_huge_declared_config_is_refused_before_any_model_is_built(tmp_path, saved, monkeypatch):
    import snippets.training.checkpoint as module

    built = []  # the device of every model the loader builds: only shapes ("meta") allowed

    def spy(config):
        built.append(torch.empty(0).device.type)
        return GPT(config)

    monkeypatch.setattr(module, "GPT", spy)
    _, payload = saved
    for field, value, message in (("n_layers", 10**9, "1 blocks in the file, n_layers=1000000000"),
                                  ("context_length", 10**9, "wpe.weight is"),
                                  ("d_ff", 10**9, "weights do not fit")):
        bad = dict(payload, model_config={**payload["model_config"], field: value})
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(write(tmp_path / "huge.pt", bad))
    assert set(built) <= {"meta"}, built


def test_non_finite_weights_are_neither_saved_nor_loaded(tmp_path, saved):
    from snippets.training.checkpoint import weights_sha256

    path, payload = saved
    payload["model"]["ln_f.weight"][0] = float("nan")
    payload["model_sha256"] = weights_sha256(payload["model"])  # a consistent, diverged file
    with pytest.raises(CheckpointError, match="NaN or inf"):
        load_checkpoint(write(tmp_path / "nan.pt", payload))
    model = load_checkpoint(path).model
    with torch.no_grad():
        model.ln_f.weight[0] = float("inf")
    with pytest.raises(CheckpointError, match="NaN or inf"):
        save_checkpoint(tmp_path / "inf.pt", model, CharTokenizer.train(TEXT))
    assert not (tmp_path / "inf.pt").exists()


def test_a_failed_save_leaves_no_file_behind(tmp_path, monkeypatch):
    tok = CharTokenizer.train(TEXT)
    model = tiny(tok.vocab_size)
    with pytest.raises(CheckpointError, match="is a directory"):
        save_checkpoint(tmp_path, model, tok)

    def full_disk(payload, path):
        with open(path, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match="cannot write .*No space left"):
        save_checkpoint(tmp_path / "m.pt", model, tok)
    assert list(tmp_path.iterdir()) == []


def test_a_llama_round_trips_and_an_unknown_family_is_a_clear_error(tmp_path):
    from snippets.models.llama import Llama, LlamaConfig

    tok = CharTokenizer.train(TEXT)
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=tok.vocab_size, context_length=16, n_layers=1,
                              n_heads=2, n_kv_heads=1, d_model=16, d_ff=24))
    save_checkpoint(tmp_path / "m.pt", model, tok)
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert isinstance(ckpt.model, Llama) and ckpt.model.config == model.config
    idx = torch.tensor([tok.encode("to be")])
    torch.testing.assert_close(ckpt.model(idx)[0], model(idx)[0], rtol=0, atol=0)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["model_family"] = "mamba"
    torch.save(payload, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="unknown model family 'mamba'; expected one of"):
        load_checkpoint(tmp_path / "x.pt")
