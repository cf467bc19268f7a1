import pytest
import torch

from snippets.__main__ import check_device, main

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 30


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_train_then_generate_is_deterministic_under_a_seed(tmp_path, data, capsys):
    ckpt = tmp_path / "ckpt.pt"
    assert main(["train", "--data", str(data), "--steps", "4", "--out", str(ckpt)]) == 0
    assert ckpt.is_file() and "saved" in capsys.readouterr().err
    outs = []
    for seed in (1, 1, 2):
        assert main(["generate", "--checkpoint", str(ckpt), "--prompt", "First",
                     "--max-new-tokens", "30", "--seed", str(seed)]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2]
    assert outs[0].startswith("First") and len(outs[0]) == len("First") + 30 + 1  # + newline


def test_resume_continues_from_the_saved_step(tmp_path, data, capsys):
    ckpt = tmp_path / "ckpt.pt"
    assert main(["train", "--data", str(data), "--steps", "3", "--out", str(ckpt)]) == 0
    assert main(["train", "--data", str(data), "--resume", str(ckpt), "--steps", "5",
                 "--out", str(ckpt)]) == 0
    assert "at step 5" in capsys.readouterr().err
    assert torch.load(ckpt, weights_only=True)["step"] == 5


def test_bpe_tokenizer_option(tmp_path, data, capsys):
    ckpt = tmp_path / "bpe.pt"
    assert main(["train", "--data", str(data), "--tokenizer", "bpe", "--vocab-size", "280",
                 "--steps", "2", "--out", str(ckpt)]) == 0
    assert "280 tokens" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [(b"", "is empty"), (b"caf\xe9", "not UTF-8")])
def test_bad_data_files_are_clear_errors(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "c.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and str(path) in err


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "c.pt"
    path.write_bytes(b"garbage")
    assert main(["generate", "--checkpoint", str(path)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err


def test_devices_are_checked(monkeypatch):
    assert check_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda' is not available"):
        check_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        check_device("tpu")
