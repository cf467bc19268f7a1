"""Token files: written once, memory-mapped, and read into the same batches as the in-memory stream."""
import pytest
import torch

from snippets.__main__ import main
from snippets.tokenizers.char import CharTokenizer
from snippets.training.checkpoint import load_checkpoint
from snippets.training.text_data import get_batch, train_val_split
from snippets.training.token_file import TokenFile, write_token_file

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 30


def test_ids_and_tokenizer_come_back_in_two_bytes_a_token_while_the_vocabulary_fits(tmp_path):
    tok = CharTokenizer.train(TEXT)
    ids = torch.tensor(tok.encode(TEXT))
    path = write_token_file(tmp_path / "t.tokens", ids, tok.to_dict())
    tokens = TokenFile.open(path)
    assert len(tokens) == len(ids) and tokens.tokenizer == tok.to_dict()
    assert torch.equal(tokens[torch.arange(len(ids))], ids)
    assert tokens.ids.itemsize == 2 and path.stat().st_size - len(ids) * 2 < 200  # header only
    big = torch.tensor([0, 65535, 65536, 100_000])  # past 16 bits: 4 bytes a token
    wide = TokenFile.open(write_token_file(tmp_path / "w.tokens", big, {}))
    assert wide.ids.itemsize == 4 and torch.equal(wide[torch.arange(4)], big)


def test_the_same_generator_draws_the_same_batches_from_the_file_as_from_memory(tmp_path):
    tok = CharTokenizer.train(TEXT)
    ids = torch.tensor(tok.encode(TEXT))
    tokens = TokenFile.open(write_token_file(tmp_path / "t.tokens", ids, tok.to_dict()))
    for (memory, disk) in zip(train_val_split(ids, 0.1), train_val_split(tokens, 0.1), strict=True):
        assert len(memory) == len(disk)
        g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        for _ in range(3):
            (x1, y1), (x2, y2) = get_batch(memory, 8, 16, g1), get_batch(disk, 8, 16, g2)
            assert torch.equal(x1, x2) and torch.equal(y1, y2) and x2.dtype == torch.int64


def test_damaged_files_and_bad_ids_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="non-empty 1-D"):
        write_token_file(tmp_path / "e.tokens", torch.tensor([], dtype=torch.long), {})
    with pytest.raises(ValueError, match=">= 0, got -1"):
        write_token_file(tmp_path / "n.tokens", torch.tensor([3, -1]), {})
    path = write_token_file(tmp_path / "t.tokens", torch.arange(100), {})
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or was modified"):
        TokenFile.open(path)
    (tmp_path / "text.txt").write_text(TEXT)
    with pytest.raises(ValueError, match="is not a token file"):
        TokenFile.open(tmp_path / "text.txt")
    with pytest.raises(ValueError, match="does not exist"):
        TokenFile.open(tmp_path / "missing.tokens")


def test_training_from_a_prepared_token_file_is_the_run_from_the_text(tmp_path, capsys):
    data = tmp_path / "text.txt"
    data.write_text(TEXT, encoding="utf-8")
    assert main(["prepare", "--data", str(data), "--out", str(tmp_path / "t.tokens")]) == 0
    for name, source in (("text", ["--data", str(data)]), ("file", ["--tokens", str(tmp_path / "t.tokens")])):
        assert main(["train", *source, "--steps", "6", "--out", str(tmp_path / f"{name}.pt")]) == 0
    capsys.readouterr()
    text, file = (load_checkpoint(tmp_path / f"{name}.pt") for name in ("text", "file"))
    assert text.tokenizer.to_dict() == file.tokenizer.to_dict()
    assert all(torch.equal(a, b) for a, b in zip(text.model.state_dict().values(),
                                                  file.model.state_dict().values(), strict=True))
    # resuming from another tokenizer's ids is refused before any training
    other = tmp_path / "other.txt"
    other.write_text("abc " * 500, encoding="utf-8")
    assert main(["prepare", "--data", str(other), "--out", str(tmp_path / "o.tokens")]) == 0
    assert main(["train", "--tokens", str(tmp_path / "o.tokens"), "--resume", str(tmp_path / "text.pt"),
                 "--out", str(tmp_path / "r.pt")]) == 2
    assert "another tokenizer than the checkpoint's" in capsys.readouterr().err
