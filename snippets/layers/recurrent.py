"""Recurrent cells written from their equations, and the sequence layer built on them.

Elman (1990) RNN; LSTM (Hochreiter & Schmidhuber, 1997) with the forget gate of Gers,
Schmidhuber & Cummins (2000); GRU (Cho et al., 2014, arXiv:1406.1078) in both placements of
the reset gate. Weights use torch's layout (gates stacked along the first dimension of
weight_ih / weight_hh, in torch's order), so a torch module's state dict loads unchanged.

Shape legend: B batch, T time, C_in input width, C hidden (state) width, G gates per cell
(1, 4 or 3), L layers, D directions (1 or 2).
"""

# --8<-- [start:imports]
import math

import torch
from torch import nn

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # h, or (h, c) for the LSTM
# --8<-- [end:imports]


# --8<-- [start:base]
class RecurrentCell(nn.Module):
    """One time step. weight_ih (G*C, C_in), weight_hh (G*C, C), two biases (G*C,), as in torch.

    The step is split in two: the input half, W_ih x_t + b_ih, does not depend on the state and
    can be computed for every t at once; only the recurrent half must wait for h_{t-1}.
    """

    n_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"widths must be positive, got input_size={input_size}, "
                             f"hidden_size={hidden_size}")
        self.input_size, self.hidden_size = input_size, hidden_size
        G, C = self.n_gates, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * C, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * C, C))
        self.bias_ih = nn.Parameter(torch.empty(G * C)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(G * C)) if bias else None
        bound = 1.0 / math.sqrt(C)  # torch's default: U(-1/sqrt(C), 1/sqrt(C)) for every tensor
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C_in) -> (..., G*C): the part of every gate that reads only the input."""
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input width {x.shape[-1]} does not match input_size="
                             f"{self.input_size} (x has shape {tuple(x.shape)})")
        out = x @ self.weight_ih.T
        return out if self.bias_ih is None else out + self.bias_ih

    def recurrent_projection(self, h: torch.Tensor) -> torch.Tensor:
        """(B, C) -> (B, G*C): the part of every gate that reads the previous state."""
        out = h @ self.weight_hh.T
        return out if self.bias_hh is None else out + self.bias_hh

    def initial_state(self, batch: int, like: torch.Tensor) -> State:
        return like.new_zeros(batch, self.hidden_size)

    def check_state(self, state: State, batch: int) -> None:
        tensors = state if isinstance(state, tuple) else (state,)
        for s in tensors:
            if s.shape != (batch, self.hidden_size):
                raise ValueError(f"state has shape {tuple(s.shape)}, expected "
                                 f"(B, C) = ({batch}, {self.hidden_size})")

    def step(self, gi: torch.Tensor, state: State) -> State:
        raise NotImplementedError

    @staticmethod
    def output(state: State) -> torch.Tensor:
        """The hidden state h_t that the next layer (and the loss) reads."""
        return state[0] if isinstance(state, tuple) else state

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """x (B, C_in), state (B, C) or ((B, C), (B, C)) -> the next state."""
        if x.dim() != 2:
            raise ValueError(f"a cell takes x of shape (B, C_in), got {tuple(x.shape)}")
        if state is None:
            state = self.initial_state(x.shape[0], x)
        self.check_state(state, x.shape[0])
        return self.step(self.input_projection(x), state)
# --8<-- [end:base]


# --8<-- [start:rnn_cell]
class RNNCell(RecurrentCell):
    """Elman: h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), phi = tanh or relu."""

    n_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, bias)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.phi = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(self, gi: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.phi(gi + self.recurrent_projection(state))  # (B, C)
# --8<-- [end:rnn_cell]


# --8<-- [start:lstm_cell]
class LSTMCell(RecurrentCell):
    """i, f, o = sigmoid(.), g = tanh(.), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).

    Gates are stacked in torch's order i, f, g, o. forget_bias is added to b_hh's forget
    slice at construction (Gers et al., 2000; Jozefowicz et al., 2015 recommend 1).
    """

    n_gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size, bias)
        if forget_bias and self.bias_hh is None:
            raise ValueError("forget_bias needs bias=True")
        if forget_bias:
            with torch.no_grad():
                self.bias_hh[hidden_size:2 * hidden_size] += forget_bias

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = like.new_zeros(batch, self.hidden_size)
        return zeros, zeros.clone()

    def check_state(self, state: State, batch: int) -> None:
        if not isinstance(state, tuple) or len(state) != 2:
            raise ValueError("an LSTM state is a pair (h, c) of (B, C) tensors")
        super().check_state(state, batch)

    def step(self, gi: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state                                                  # (B, C) each
        i, f, g, o = (gi + self.recurrent_projection(h)).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g          # the additive path: dc_t/dc_{t-1} = diag(f) directly
        h = o * torch.tanh(c)
        return h, c
# --8<-- [end:lstm_cell]


# --8<-- [start:gru_cell]
class GRUCell(RecurrentCell):
    """r, z = sigmoid(.), h_t = (1 - z) * n + z * h_{t-1}, gates in torch's order r, z, n.

    reset_after=True (torch, cuDNN):  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
    reset_after=False (Cho et al.):   n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    The first lets W_hn h be computed together with the other gates' matrix product.
    """

    n_gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias)
        self.reset_after = reset_after

    def step(self, gi: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        h = state                                                       # (B, C)
        gi_r, gi_z, gi_n = gi.chunk(3, dim=-1)
        if self.reset_after:  # one (B, C) x (C, 3C) product serves all three gates
            gh_r, gh_z, gh_n = self.recurrent_projection(h).chunk(3, dim=-1)
            r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
            n = torch.tanh(gi_n + r * gh_n)                             # r scales W_hn h + b_hn
        else:  # r must reach h before the product: W_hn (r * h) waits for r
            C = self.hidden_size
            w_rz, w_n = self.weight_hh[:2 * C], self.weight_hh[2 * C:]  # (2C, C), (C, C)
            b_rz, b_n = (self.bias_hh[:2 * C], self.bias_hh[2 * C:]) if self.bias_hh is not None else (0.0, 0.0)
            gh_r, gh_z = (h @ w_rz.T + b_rz).chunk(2, dim=-1)
            r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
            n = torch.tanh(gi_n + (r * h) @ w_n.T + b_n)
        return (1 - z) * n + z * h
# --8<-- [end:gru_cell]


# --8<-- [start:layer]
CELLS = {"rnn_tanh": RNNCell, "rnn_relu": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


class Recurrent(nn.Module):
    """A stack of L recurrent layers over a batch-first sequence, optionally bidirectional.

    Layer l > 0 reads the concatenated outputs of both directions of layer l - 1, as torch
    does. Returns outputs (B, T, D*C) and the final state (L*D, B, C) (a pair for the LSTM),
    ordered layer by layer, forward before backward, exactly like nn.RNN / nn.LSTM / nn.GRU.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, bias: bool = True, **cell_kwargs):
        super().__init__()
        if mode not in CELLS:
            raise ValueError(f"mode must be one of {sorted(CELLS)}, got {mode!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if mode.startswith("rnn_"):
            cell_kwargs["nonlinearity"] = mode.removeprefix("rnn_")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.directions = num_layers, 2 if bidirectional else 1
        D = self.directions
        self.cells = nn.ModuleList(
            CELLS[mode](input_size if layer == 0 else D * hidden_size, hidden_size, bias, **cell_kwargs)
            for layer in range(num_layers) for _ in range(D))  # index: layer * D + direction

    def _split_state(self, state: State | None, B: int, like: torch.Tensor) -> list[State]:
        n, C = self.num_layers * self.directions, self.hidden_size
        if state is None:
            return [cell.initial_state(B, like) for cell in self.cells]
        parts = state if isinstance(state, tuple) else (state,)
        if (self.mode == "lstm") != isinstance(state, tuple):
            raise ValueError(f"mode {self.mode!r} takes "
                             f"{'a pair (h_0, c_0)' if self.mode == 'lstm' else 'one tensor h_0'}")
        for s in parts:
            if s.shape != (n, B, C):
                raise ValueError(f"initial state has shape {tuple(s.shape)}, expected "
                                 f"(L*D, B, C) = ({n}, {B}, {C})")
        return [tuple(s[i] for s in parts) if self.mode == "lstm" else parts[0][i] for i in range(n)]

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        if x.dim() != 3:
            raise ValueError(f"x must be batch-first (B, T, C_in), got shape {tuple(x.shape)}")
        B, T, C_in = x.shape
        if T == 0:
            raise ValueError(f"empty sequence: x has shape {tuple(x.shape)} (T = 0)")
        if C_in != self.input_size:
            raise ValueError(f"input width {C_in} does not match input_size={self.input_size}")
        states = self._split_state(state, B, x)
        finals: list[State] = []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.directions):
                cell = self.cells[layer * self.directions + direction]
                s = states[layer * self.directions + direction]
                gi = cell.input_projection(layer_in)       # (B, T, G*C): all t in one product
                steps = range(T) if direction == 0 else range(T - 1, -1, -1)
                hs = [None] * T
                for t in steps:                            # the sequential part: T steps
                    s = cell.step(gi[:, t], s)
                    hs[t] = cell.output(s)
                outs.append(torch.stack(hs, dim=1))        # (B, T, C)
                finals.append(s)
            layer_in = torch.cat(outs, dim=-1)             # (B, T, D*C)
        if self.mode == "lstm":
            h_n = torch.stack([f[0] for f in finals])      # (L*D, B, C)
            c_n = torch.stack([f[1] for f in finals])
            return layer_in, (h_n, c_n)
        return layer_in, torch.stack(finals)
# --8<-- [end:layer]


# --8<-- [start:from_torch]
def load_torch_weights(ours: Recurrent, theirs: nn.RNNBase) -> Recurrent:
    """Copy nn.RNN / nn.LSTM / nn.GRU weights into `ours` (same mode and sizes)."""
    for layer in range(ours.num_layers):
        for direction in range(ours.directions):
            cell = ours.cells[layer * ours.directions + direction]
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if getattr(cell, name) is None:
                    continue
                source = getattr(theirs, name + suffix)
                if source.shape != getattr(cell, name).shape:
                    raise ValueError(f"{name + suffix}: torch has {tuple(source.shape)}, "
                                     f"ours {tuple(getattr(cell, name).shape)}")
                with torch.no_grad():
                    getattr(cell, name).copy_(source)
    return ours
# --8<-- [end:from_torch]
