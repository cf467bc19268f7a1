"""Truncated backpropagation through time (Williams & Peng, 1990; Elman, 1990) and the
delayed-recall task that shows what it cannot learn.

The forward pass carries the hidden state across chunks of k steps; the backward pass stops
at each chunk boundary (the state is detached). A loss at step t therefore sends no gradient
to any input k or more steps back, whatever the model could in principle remember.

Shape legend: B batch, T time, I input width, H hidden width, V number of symbols.
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.recurrent import Recurrent, State
# --8<-- [end:imports]


# --8<-- [start:truncated]
def detach_state(state: State) -> State:
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def run_truncated(layer: Recurrent, x: torch.Tensor, k: int,
                  state: State | None = None) -> tuple[torch.Tensor, State]:
    """Same forward values as layer(x, state); gradients flow back at most within a chunk of k."""
    if k < 1:
        raise ValueError(f"truncation length k must be >= 1, got {k}")
    if layer.directions != 1:
        raise ValueError("truncated BPTT runs forward in time: the layer must be unidirectional")
    outs = []
    for start in range(0, x.shape[1], k):
        out, state = layer(x[:, start:start + k], state)   # (B, <=k, H)
        outs.append(out)
        state = detach_state(state)                        # the cut: no gradient past here
    return torch.cat(outs, dim=1), state                   # (B, T, H)
# --8<-- [end:truncated]


# --8<-- [start:recall]
def delayed_recall_batch(batch: int, length: int, delay: int, n_symbols: int,
                         g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T) random symbols; target y_t = x_{t - delay}, and -100 (ignored) for t < delay."""
    if not 0 < delay < length:
        raise ValueError(f"need 0 < delay < length, got delay={delay}, length={length}")
    x = torch.randint(0, n_symbols, (batch, length), generator=g)
    y = torch.full_like(x, -100)
    y[:, delay:] = x[:, :-delay]
    return x, y


class RecallNet(nn.Module):
    """Embedding -> one recurrent layer -> linear read-out of a symbol at every step."""

    def __init__(self, n_symbols: int = 8, hidden: int = 32, mode: str = "lstm"):
        super().__init__()
        self.embed = nn.Embedding(n_symbols, hidden)
        self.rnn = Recurrent(mode, hidden, hidden)
        self.head = nn.Linear(hidden, n_symbols)

    def forward(self, x: torch.Tensor, k: int | None = None) -> torch.Tensor:
        e = self.embed(x)                                                  # (B, T, H)
        out = self.rnn(e)[0] if k is None else run_truncated(self.rnn, e, k)[0]
        return self.head(out)                                              # (B, T, V)


def train_delayed_recall(delay: int, k: int, steps: int = 300, length: int = 32,
                         batch: int = 32, n_symbols: int = 8, hidden: int = 32,
                         seed: int = 0, dtype: torch.dtype = torch.float32) -> float:
    """Train with truncation k; return recall accuracy on fresh sequences (full forward).
    Chance is 1 / n_symbols."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = RecallNet(n_symbols, hidden).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        x, y = delayed_recall_batch(batch, length, delay, n_symbols, g)
        loss = F.cross_entropy(model(x, k).flatten(0, 1), y.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    with torch.no_grad():
        x, y = delayed_recall_batch(256, length, delay, n_symbols, torch.Generator().manual_seed(seed + 1))
        pred = model(x).argmax(-1)
        seen = y != -100
        return (pred[seen] == y[seen]).float().mean().item()
# --8<-- [end:recall]
