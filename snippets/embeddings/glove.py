"""GloVe: weighted least squares on log co-occurrence counts (Pennington, Socher & Manning 2014, EMNLP).

J = sum_{ij: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
f(x) = (x / x_max)^alpha for x < x_max, else 1; x_max = 100, alpha = 3/4 in the paper.
Trained with AdaGrad (initial rate 0.05, accumulators started at 1 as in the reference glove.c);
the vectors reported are w + w~. Shapes: V vocabulary, C width, E non-zero entries in a batch.
"""

# --8<-- [start:imports]
import numpy as np
import scipy.sparse as sp
import torch
# --8<-- [end:imports]


# --8<-- [start:objective]
def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """f(x): rare pairs count less, and no pair counts more than 1 however frequent."""
    return torch.where(x < x_max, (x / x_max) ** alpha, torch.ones_like(x))


def glove_loss(w: torch.Tensor, w_ctx: torch.Tensor, b: torch.Tensor, b_ctx: torch.Tensor,
               i: torch.Tensor, j: torch.Tensor, x: torch.Tensor, x_max: float = 100.0,
               alpha: float = 0.75) -> torch.Tensor:
    """J on E entries (i, j, X_ij): w, w_ctx (V, C); b, b_ctx (V,); i, j, x (E,)."""
    if (x <= 0).any():
        raise ValueError("GloVe is defined on the non-zero counts only; got X_ij <= 0")
    diff = (w[i] * w_ctx[j]).sum(-1) + b[i] + b_ctx[j] - torch.log(x)   # (E,)
    return (glove_weight(x, x_max, alpha) * diff**2).sum()
# --8<-- [end:objective]


# --8<-- [start:train]
def train_glove(x: sp.csr_matrix, dim: int = 100, epochs: int = 25, lr: float = 0.05,
                batch_size: int = 4096, x_max: float = 100.0, alpha: float = 0.75, seed: int = 0,
                dtype: torch.dtype = torch.float64) -> tuple[np.ndarray, list[float]]:
    """AdaGrad on shuffled batches of the non-zeros; returns (V, C) vectors w + w~ and the epoch losses.

    Why AdaGrad: each parameter's step is divided by the root of its own summed squared
    gradients, so the few frequent words (in millions of pairs) slow down while rare words,
    whose rows are touched seldom, keep a large step.
    """
    coo = sp.coo_matrix(x)
    i_all = torch.from_numpy(coo.row.astype(np.int64))
    j_all = torch.from_numpy(coo.col.astype(np.int64))
    x_all = torch.from_numpy(coo.data).to(dtype)
    V = x.shape[0]
    g = torch.Generator().manual_seed(seed)
    init = lambda *shape: ((torch.rand(*shape, generator=g, dtype=dtype) - 0.5) / dim).requires_grad_()
    params = [init(V, dim), init(V, dim), init(V), init(V)]   # w, w~, b, b~ (glove.c's init)
    opt = torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=1.0)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=g)
        total = 0.0
        for s in range(0, len(order), batch_size):
            e = order[s:s + batch_size]
            # glove.c minimises half of J; the half only rescales the rate
            loss = 0.5 * glove_loss(*params, i_all[e], j_all[e], x_all[e], x_max, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total)
    w, w_ctx = params[0].detach(), params[1].detach()
    return (w + w_ctx).numpy(), losses
# --8<-- [end:train]
