"""Matryoshka embeddings: one vector whose every prefix is itself a usable embedding.

Kusupati et al. 2022 (Matryoshka Representation Learning, arXiv:2205.13147) sum the training loss
over nested prefixes m of the vector, so the first m coordinates must do the job alone. Here the
loss is InfoNCE with in-batch negatives (`sentence.info_nce`), and what is trained is a small
linear map on top of frozen sentence vectors, which is enough to show what the objective does.
Shapes: B batch, C width, m a prefix length.
"""

# --8<-- [start:imports]
from collections.abc import Sequence

import torch
from torch import nn

from snippets.embeddings.sentence import info_nce
# --8<-- [end:imports]


# --8<-- [start:loss]
def matryoshka_loss(q: torch.Tensor, d: torch.Tensor, dims: Sequence[int], temperature: float = 0.05,
                    weights: Sequence[float] | None = None) -> torch.Tensor:
    """sum over m in dims of w_m * InfoNCE(q[:, :m], d[:, :m]); q, d: (B, C), 1 <= m <= C."""
    C = q.shape[-1]
    if not dims or any(not 1 <= m <= C for m in dims) or list(dims) != sorted(set(dims)):
        raise ValueError(f"dims must be increasing prefix lengths in [1, {C}], got {list(dims)}")
    weights = [1.0] * len(dims) if weights is None else list(weights)
    if len(weights) != len(dims):
        raise ValueError(f"{len(weights)} weights for {len(dims)} prefix lengths")
    # each prefix is renormalised inside info_nce, so it is scored as a vector of its own
    return sum(w * info_nce(q[:, :m], d[:, :m], temperature) for w, m in zip(weights, dims))
# --8<-- [end:loss]


# --8<-- [start:projection]
class Projection(nn.Module):
    """x -> W x + b on frozen sentence vectors, (B, C) -> (B, C); W starts as `start` (default: the identity)."""

    def __init__(self, width: int, dtype: torch.dtype = torch.float64, start: torch.Tensor | None = None):
        super().__init__()
        self.linear = nn.Linear(width, width, dtype=dtype)
        if start is not None and start.shape != (width, width):
            raise ValueError(f"start must be ({width}, {width}), got {tuple(start.shape)}")
        with torch.no_grad():   # start from the encoder's own vectors (or a rotation of them)
            self.linear.weight.copy_(torch.eye(width, dtype=dtype) if start is None else start)
            self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def train_projection(q: torch.Tensor, d: torch.Tensor, dims: Sequence[int], steps: int = 300,
                     batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                     start: torch.Tensor | None = None) -> Projection:
    """Fit a Projection so that (q[i], d[i]) pairs win InfoNCE at every prefix in dims.

    dims = [C] is the plain contrastive loss: the control that is trained but not nested.
    """
    if q.shape != d.shape or q.ndim != 2:
        raise ValueError(f"need (n, C) question and answer vectors of one shape, "
                         f"got {tuple(q.shape)}, {tuple(d.shape)}")
    g = torch.Generator().manual_seed(seed)
    proj = Projection(q.shape[1], q.dtype, start)
    opt = torch.optim.Adam(proj.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randperm(len(q), generator=g)[:batch_size]          # a fresh batch of pairs
        loss = matryoshka_loss(proj(q[idx]), proj(d[idx]), dims)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return proj.eval()
# --8<-- [end:projection]
