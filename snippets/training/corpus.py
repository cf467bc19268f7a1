"""Text corpora read from a local cache, downloaded once and verified by SHA-256.

Tiny Shakespeare (Karpathy, 2015, char-rnn) is the corpus nanoGPT's figures refer to.
The cache directory is $SNIPPETS_CACHE, or ~/.cache/modern-nlp-transformers.
"""

# --8<-- [start:imports]
import hashlib
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path
# --8<-- [end:imports]

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt")
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


class CorpusError(RuntimeError):
    """A corpus is missing, cannot be fetched, or is not the file it should be."""


def cache_dir() -> Path:
    return Path(os.environ.get("SNIPPETS_CACHE", Path.home() / ".cache" / "modern-nlp-transformers"))


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


# --8<-- [start:cached_text]
def cached_text(name: str, url: str, sha256: str, cache: Path | None = None,
                fetch: Callable[[str], bytes] | None = _download) -> str:
    """The UTF-8 text of `name` from the cache; fetched from `url` only when missing.

    The hash is checked on every read, so a truncated or edited file is an error,
    never a silently different corpus. fetch=None forbids the network.
    """
    path = (cache or cache_dir()) / name
    if not path.exists():
        if fetch is None:
            raise CorpusError(f"{path} is missing and downloading is disabled")
        try:
            data = fetch(url)
        except OSError as error:
            raise CorpusError(f"{name} is not cached at {path} and {url} "
                              f"could not be fetched: {error}") from error
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorpusError(f"{url} did not match the expected SHA-256 {sha256}")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)  # atomic: a reader never sees half a file
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise CorpusError(f"{path} has SHA-256 {digest}, expected {sha256}: delete it to re-download")
    return data.decode("utf-8")
# --8<-- [end:cached_text]


# --8<-- [start:tiny_shakespeare]
def tiny_shakespeare(cache: Path | None = None,
                     fetch: Callable[[str], bytes] | None = _download) -> str:
    """The 1,115,394-character tiny Shakespeare corpus."""
    return cached_text("tinyshakespeare.txt", TINY_SHAKESPEARE_URL, TINY_SHAKESPEARE_SHA256,
                       cache, fetch)
# --8<-- [end:tiny_shakespeare]
