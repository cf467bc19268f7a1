import pytest
import torch

from snippets.training.text_data import get_batch, read_text, train_val_split


def test_read_text_round_trips_utf8(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("héllo wörld\n", encoding="utf-8")
    assert read_text(path) == "héllo wörld\n"


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"  \n\t", "empty"),
                                               (b"ok \xff\xfe", "not UTF-8")])
def test_read_text_rejects_empty_and_non_utf8(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_text(path)


def test_read_text_names_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_text(tmp_path / "nope.txt")


def test_split_is_by_position():
    ids = torch.arange(100)
    train, val = train_val_split(ids, 0.1)
    assert torch.equal(train, torch.arange(90)) and torch.equal(val, torch.arange(90, 100))
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(ids, 1.0)


def test_batches_are_windows_and_targets_are_shifted():
    data = torch.arange(1000)
    x, y = get_batch(data, 6, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (6, 16)
    assert torch.equal(y[:, :-1], x[:, 1:])                  # the same window, shifted by one
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(6, 15, dtype=torch.long))  # contiguous
    assert int(y.max()) <= 999


def test_batches_are_reproducible_under_a_generator_and_cover_the_stream():
    data = torch.arange(50)
    a = get_batch(data, 4, 8, torch.Generator().manual_seed(3))
    b = get_batch(data, 4, 8, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0])
    starts = torch.cat([get_batch(data, 64, 8, torch.Generator().manual_seed(s))[0][:, 0]
                        for s in range(10)])
    assert int(starts.min()) == 0 and int(starts.max()) == 50 - 8 - 1  # every start reachable


def test_stream_shorter_than_a_window_is_an_error():
    with pytest.raises(ValueError, match="shorter than one window"):
        get_batch(torch.arange(8), 2, 8)
