"""The corpus loader: cache first, fetch only when missing, hash always verified."""

import hashlib

import pytest

from snippets.training.corpus import CorpusError, cached_text

TEXT = "To be, or not to be: that is the question.\n"
SHA = hashlib.sha256(TEXT.encode()).hexdigest()


def no_network(url):
    raise AssertionError("the cache should have been used")


def test_reads_the_cache_without_fetching(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    assert cached_text("t.txt", "https://example.invalid/t", SHA, tmp_path, fetch=no_network) == TEXT


def test_fetches_once_when_missing_then_uses_the_cache(tmp_path):
    calls = []
    fetch = lambda url: calls.append(url) or TEXT.encode()  # noqa: E731
    assert cached_text("t.txt", "u", SHA, tmp_path, fetch=fetch) == TEXT
    assert cached_text("t.txt", "u", SHA, tmp_path, fetch=fetch) == TEXT
    assert calls == ["u"]


def test_a_corrupt_cached_file_is_an_error(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT[:-5])
    with pytest.raises(CorpusError, match="delete it to re-download"):
        cached_text("t.txt", "u", SHA, tmp_path, fetch=no_network)


def test_a_download_with_the_wrong_hash_is_not_cached(tmp_path):
    with pytest.raises(CorpusError, match="did not match"):
        cached_text("t.txt", "u", SHA, tmp_path, fetch=lambda url: b"something else")
    assert not (tmp_path / "t.txt").exists()


def test_missing_with_network_disabled_says_so(tmp_path):
    with pytest.raises(CorpusError, match="missing and downloading is disabled"):
        cached_text("t.txt", "u", SHA, tmp_path, fetch=None)


def test_network_failure_names_the_file_and_url(tmp_path):
    def offline(url):
        raise OSError("no route to host")
    with pytest.raises(CorpusError, match="t.txt is not cached.*no route to host"):
        cached_text("t.txt", "https://example.invalid/t", SHA, tmp_path, fetch=offline)
