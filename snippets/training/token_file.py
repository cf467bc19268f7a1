"""Token ids on disk: tokenise a corpus once, then read training windows straight from the file.

The in-memory path (text_data.py) holds the whole id stream as an int64 tensor, 8 bytes a
token: fine for a megabyte of Shakespeare, not for a corpus larger than memory, and each
torchrun rank would hold its own copy. Here the ids are written once, 2 bytes a token while
the vocabulary fits in 16 bits (4 otherwise), and memory-mapped: a batch reads only the
B * (T + 1) ids of its windows, the operating system caches the pages it touched, and every
process on a machine shares that cache. get_batch and train_val_split take a TokenFile as they
take a tensor, and with the same generator draw the same windows.

File layout: 8 bytes of magic, the header's length (8 bytes, little-endian), the header as
JSON (dtype, count, the tokenizer that made the ids), zero padding to a multiple of 8 bytes,
then the ids, little-endian.
"""

# --8<-- [start:imports]
import json
import os
from pathlib import Path

import numpy as np
import torch
# --8<-- [end:imports]

# --8<-- [start:write]
MAGIC = b"NLPTOK1\n"


def write_token_file(path: str | Path, ids: torch.Tensor, tokenizer: dict) -> Path:
    """Write the 1-D id stream `ids` and the tokenizer's dict to `path`, atomically."""
    if ids.dim() != 1 or len(ids) == 0:
        raise ValueError(f"ids must be a non-empty 1-D stream of token ids, got shape {tuple(ids.shape)}")
    low, high = int(ids.min()), int(ids.max())
    if low < 0:
        raise ValueError(f"token ids must be >= 0, got {low}")
    dtype = "<u2" if high < 2**16 else "<i4"  # a 50,257-token GPT-2 vocabulary still fits 2 bytes
    header = json.dumps({"dtype": dtype, "count": len(ids), "tokenizer": tokenizer}).encode()
    padding = -(len(MAGIC) + 8 + len(header)) % 8
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        f.write(MAGIC + len(header).to_bytes(8, "little") + header + bytes(padding))
        f.write(ids.numpy().astype(dtype).tobytes())
    os.replace(partial, path)  # a reader never sees half a file
    return path
# --8<-- [end:write]


# --8<-- [start:token_file]
class TokenFile:
    """A memory-mapped id stream: len(), slices (views, no copy) and tensor indexing like a
    1-D int64 tensor; `tokenizer` is the dict it was written with."""

    def __init__(self, ids: np.ndarray, tokenizer: dict):
        self.ids, self.tokenizer = ids, tokenizer

    @classmethod
    def open(cls, path: str | Path) -> "TokenFile":
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"--tokens {path} does not exist; write it with `python -m snippets prepare`")
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError(f"{path} is not a token file (written by `python -m snippets prepare`)")
            size = int.from_bytes(f.read(8), "little")
            try:
                header = json.loads(f.read(size))
                count, dtype = int(header["count"]), np.dtype(header["dtype"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}: the token file's header is damaged ({error})") from None
        offset = len(MAGIC) + 8 + size + (-(len(MAGIC) + 8 + size) % 8)
        expected = offset + count * dtype.itemsize
        if path.stat().st_size != expected:
            raise ValueError(f"{path} holds {path.stat().st_size:,} bytes, its header promises "
                             f"{expected:,}: the file is truncated or was modified")
        ids = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,))
        return cls(ids, header["tokenizer"])

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: slice | torch.Tensor) -> "TokenFile | torch.Tensor":
        if isinstance(index, slice):
            return TokenFile(self.ids[index], self.tokenizer)
        return torch.from_numpy(self.ids[index.numpy()].astype(np.int64))  # reads these ids only
# --8<-- [end:token_file]
