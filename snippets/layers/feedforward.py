"""The position-wise feed-forward network: FFN(x) = act(x W_1 + b_1) W_2 + b_2, and the
gated variants SwiGLU and GeGLU (Shazeer, 2020, arXiv:2002.05202).

Shape legend: B batch, T time, C model width, F hidden width (d_ff).
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn
# --8<-- [end:imports]

# --8<-- [start:activations]
ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,                                          # exact erf form (BERT)
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),    # GPT-2's approximation
}
GATED = {"swiglu": F.silu, "geglu": F.gelu}                   # GLU variants: the gate's activation
# --8<-- [end:activations]


# --8<-- [start:feed_forward]
class FeedForward(nn.Module):
    """up-project C -> F, nonlinearity, down-project F -> C (applied to each position alone).

    activation="swiglu" adds a gate: down(silu(gate(x)) * up(x)); "geglu" the same with GELU.
    """

    def __init__(self, d_model: int, d_ff: int, activation: str = "gelu",
                 dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if activation not in (*ACTIVATIONS, *GATED):
            raise ValueError(f"activation must be one of {[*ACTIVATIONS, *GATED]}, got {activation!r}")
        self.activation = activation
        self.up = nn.Linear(d_model, d_ff, bias=bias)       # W_1
        self.gate = nn.Linear(d_model, d_ff, bias=bias) if activation in GATED else None
        self.down = nn.Linear(d_ff, d_model, bias=bias)     # W_2
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        if self.gate is not None:
            hidden = GATED[self.activation](self.gate(x)) * self.up(x)  # (B, T, F)
        else:
            hidden = ACTIVATIONS[self.activation](self.up(x))  # (B, T, F)
        return self.dropout(self.down(hidden))
# --8<-- [end:feed_forward]
