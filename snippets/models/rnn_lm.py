"""A character-level LSTM language model (in the spirit of Karpathy's char-rnn and of
Graves, 2013, arXiv:1308.0850), with the same interface as the library's GPT, so the same
training loop, evaluation and bits-per-character conversion apply to both.

Shape legend: B batch, T time (context length), C embedding width, H hidden width,
L layers, V vocabulary.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.recurrent import Recurrent
# --8<-- [end:imports]


# --8<-- [start:model]
@dataclass(frozen=True)
class CharLSTMConfig:
    vocab_size: int = 65
    context_length: int = 64      # training window; the state itself has no length limit
    d_embed: int = 64             # C
    hidden: int = 256             # H
    n_layers: int = 2             # L
    impl: str = "torch"           # "torch": nn.LSTM's fused kernels; "ours": snippets' LSTM, proven equal

    def __post_init__(self) -> None:
        if self.impl not in ("torch", "ours"):
            raise ValueError(f"impl must be 'torch' or 'ours', got {self.impl!r}")
        for name in ("vocab_size", "context_length", "d_embed", "hidden", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class CharLSTM(nn.Module):
    def __init__(self, config: CharLSTMConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_embed)
        if config.impl == "torch":
            self.lstm = nn.LSTM(config.d_embed, config.hidden, config.n_layers, batch_first=True)
        else:
            self.lstm = Recurrent("lstm", config.d_embed, config.hidden, config.n_layers)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> logits (B, T, V) and the mean cross-entropy if targets are given."""
        out, _ = self.lstm(self.embed(idx))                  # (B, T, H), from a zero state
        logits = self.head(out)                              # (B, T, V)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())
# --8<-- [end:model]
