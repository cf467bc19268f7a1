"""Measuring how gradients travel back through time in a recurrent network.

The Jacobian of one step of an Elman RNN is dh_t/dh_{t-1} = diag(phi'(a_t)) W_hh, so
dh_T/dh_t is a product of T - t such matrices and its norm is at most
(gamma * sigma_max(W_hh))^(T - t), gamma a bound on |phi'| (Pascanu, Mikolov & Bengio, 2013,
arXiv:1211.5063; Bengio, Simard & Frasconi, 1994). These functions measure the real thing.

Shape legend: B batch, T time, C_in input width, C hidden (state) width.
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch

from snippets.layers.recurrent import Recurrent, RecurrentCell
# --8<-- [end:imports]


# --8<-- [start:spectral]
def spectral_radius(w: torch.Tensor) -> float:
    """rho(W) = max |lambda_i(W)|, the largest eigenvalue modulus of a square matrix."""
    if w.dim() != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"spectral radius needs a square matrix, got shape {tuple(w.shape)}")
    return torch.linalg.eigvals(w).abs().max().item()


def set_spectral_radius(cell: RecurrentCell, rho: float) -> RecurrentCell:
    """Rescale an Elman cell's W_hh in place so that rho(W_hh) = rho."""
    if cell.n_gates != 1:
        raise ValueError(f"set_spectral_radius is for a one-gate (Elman) cell, got {type(cell).__name__}")
    with torch.no_grad():
        cell.weight_hh.mul_(rho / spectral_radius(cell.weight_hh))
    return cell


def gelfand_rates(w: torch.Tensor, ks: list[int]) -> list[float]:
    """(1/k) log ||W^k||_2 for each k: Gelfand's formula says it tends to log rho(W)."""
    return [torch.linalg.matrix_norm(torch.linalg.matrix_power(w, k), ord=2).log().item() / k
            for k in ks]
# --8<-- [end:spectral]


# --8<-- [start:hidden_norms]
def hidden_gradient_norms(cell: RecurrentCell, x: torch.Tensor,
                          loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """||dL/dh_t|| for t = 0..T-1 of one run of `cell` over x (B, T, I) from a zero state.

    loss_fn maps the stacked hidden states (B, T, H) to a scalar. retain_grad keeps the
    gradient of each intermediate h_t: the total derivative, through every later step.
    """
    if x.dim() != 3 or x.shape[1] == 0:
        raise ValueError(f"x must be (B, T, I) with T >= 1, got shape {tuple(x.shape)}")
    B, T, _ = x.shape
    state = cell.initial_state(B, x)
    hs = []
    for t in range(T):
        state = cell(x[:, t], state)
        h = cell.output(state)
        h.retain_grad()                                   # keep dL/dh_t after backward
        hs.append(h)
    loss_fn(torch.stack(hs, dim=1)).backward()            # (B, T, H) -> scalar
    return torch.stack([h.grad.norm() for h in hs])       # (T,)
# --8<-- [end:hidden_norms]


# --8<-- [start:horizon]
def input_gradient_horizon(layer: Recurrent, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """||dL/dx_{T-1-k}|| for k = 0..T-1, with L = u . h_{T-1} for a fixed random unit u.

    Only the last output enters the loss, so the k-th entry is the signal that reaches an
    input k steps before the prediction: the quantity that decides what can be learned.
    """
    x = x.detach().clone().requires_grad_(True)           # (B, T, I)
    out, _ = layer(x)                                      # (B, T, D*H)
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(out.shape[-1], generator=g, dtype=out.dtype)
    (out[:, -1] @ (u / u.norm())).sum().backward()
    per_step = x.grad.norm(dim=-1).mean(dim=0)            # (T,), averaged over the batch
    return per_step.flip(0)                                # index k = distance from the end


def decay_rate(norms: torch.Tensor, k_min: int, k_max: int) -> float:
    """Least-squares slope of log ||g_k|| against k on [k_min, k_max]: log of the mean
    factor by which the gradient shrinks (< 0) or grows (> 0) per step."""
    k = torch.arange(k_min, k_max + 1, dtype=torch.float64)
    y = norms[k_min:k_max + 1].double().clamp_min(1e-300).log()
    k_c = k - k.mean()
    return ((k_c * (y - y.mean())).sum() / (k_c ** 2).sum()).item()
# --8<-- [end:horizon]


# --8<-- [start:experiment]
def gradient_horizons(T: int = 201, H: int = 64, batch: int = 4, seed: int = 0
                      ) -> dict[str, tuple[torch.Tensor, float | None]]:
    """The chapter's experiment: ||dL/dx_{T-1-k}|| for k = 0..T-1, one entry per model,
    same width, same inputs, float64. Returns name -> (norms (T,), bound per step or None),
    the bound being log(gamma * sigma_max(W_hh)) with gamma = 1 for tanh."""
    x = torch.randn(batch, T, H, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    runs: dict[str, tuple[torch.Tensor, float | None]] = {}

    def add(name: str, layer: Recurrent) -> None:
        bound = None
        if layer.mode == "rnn_tanh":
            bound = torch.linalg.matrix_norm(layer.cells[0].weight_hh.detach(), ord=2).log().item()
        runs[name] = (input_gradient_horizon(layer, x).detach(), bound)

    torch.manual_seed(seed)
    rnn = Recurrent("rnn_tanh", H, H).double()
    add(f"tanh RNN, torch init (rho={spectral_radius(rnn.cells[0].weight_hh.detach()):.2f})", rnn)
    for rho in (0.9, 1.0, 1.1, 1.5):
        layer = Recurrent("rnn_tanh", H, H).double()
        layer.load_state_dict(rnn.state_dict())
        set_spectral_radius(layer.cells[0], rho)
        add(f"tanh RNN, rho={rho}", layer)
    for bias in (0.0, 1.0, 3.0):
        torch.manual_seed(seed)
        add(f"LSTM, forget bias +{bias:g}", Recurrent("lstm", H, H, forget_bias=bias).double())
    torch.manual_seed(seed)
    add("GRU, torch init", Recurrent("gru", H, H).double())
    return runs
# --8<-- [end:experiment]
