"""Text to training batches: read a UTF-8 file, split by position, sample random windows.

A language model's batch is B windows of T + 1 consecutive token ids: inputs are the first T,
targets the last T (the same window shifted by one). Shape legend: B batch, T context length.
"""

# --8<-- [start:imports]
from pathlib import Path

import torch
# --8<-- [end:imports]


# --8<-- [start:read_text]
def read_text(path: str | Path) -> str:
    """The whole file as text; an empty or non-UTF-8 file is a ValueError that names it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--data {path} does not exist or is not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: byte {data[error.start]:#04x} at offset "
                         f"{error.start} cannot be decoded") from None
    if not text.strip():
        raise ValueError(f"{path} is empty ({len(data)} bytes): there is nothing to train on")
    return text
# --8<-- [end:read_text]


# --8<-- [start:split]
def train_val_split(ids: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """First (1 - val_fraction) of the stream for training, the rest for validation.

    A split by position, not by shuffled windows: neighbouring windows overlap, so a random
    split would put most of every validation window in the training set. `ids` may also be a
    memory-mapped TokenFile (token_file.py): its parts are views of the same file.
    """
    if isinstance(ids, torch.Tensor) and ids.dim() != 1:  # a TokenFile is 1-D by construction
        raise ValueError(f"ids must be a 1-D stream of token ids, got shape {tuple(ids.shape)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_train = int(len(ids) * (1.0 - val_fraction))
    return ids[:n_train], ids[n_train:]
# --8<-- [end:split]


# --8<-- [start:get_batch]
def get_batch(data: torch.Tensor, batch_size: int, context_length: int,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """B random windows of the stream: inputs x (B, T) and next-token targets y (B, T)."""
    T = context_length
    if len(data) < T + 1:
        raise ValueError(f"a stream of {len(data)} tokens is shorter than one window of "
                         f"context_length + 1 = {T + 1}; use more text or a shorter context")
    starts = torch.randint(0, len(data) - T, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(T + 1)                                                  # (T + 1,)
    windows = data[starts[:, None] + offsets]                                      # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]
# --8<-- [end:get_batch]
