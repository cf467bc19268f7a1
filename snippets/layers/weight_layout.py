"""Making a one-token decoding step stream its weights as fast as the memory allows.

At batch 1 a cached step multiplies one row by every weight matrix: each weight is read once
and used for one multiply-add, so the step runs at the speed the matrix-vector products
stream weights from memory. Two things held PyTorch's CPU product below the machine's
bandwidth here (benchmarks/bench_generation.py measures both):

1. Layout. nn.Linear keeps W as an (out, in) row-major matrix and computes x W^T; with W
   stored (in, out) row-major, GPT-2's own Conv1D layout (Radford et al., 2019), the same
   product streams faster.
2. Cores. A one-row product ran on one core however many threads torch had. Splitting the
   reduction over the input features into one slice per thread turns it into a batch of
   matrix-vector products, which torch runs in parallel; the slices' partial outputs are
   then summed.

Values never change, only the order of bytes and of floating-point sums.

Shape legend: C_in input width, C_out output width, P parts (threads).
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:layout]
def store_input_major(module: nn.Module) -> int:
    """Re-lay every nn.Linear weight inside module as (C_in, C_out) row-major, in place.

    Each weight keeps its shape (C_out, C_in) and its values; only its strides change, to
    (1, C_out). The Parameter objects stay the same, so tied weights stay tied and an
    optimizer that holds them keeps working. Returns how many matrices were re-laid
    (a matrix shared by two layers counts once); calling it again changes nothing.
    """
    done: set[int] = set()
    for layer in module.modules():
        if not isinstance(layer, nn.Linear) or id(layer.weight) in done:
            continue
        done.add(id(layer.weight))
        W = layer.weight                                       # (C_out, C_in)
        if W.stride() != (1, W.shape[0]):
            W.data = W.data.t().contiguous().t()               # storage (C_in, C_out)
    return len(done)


def store_output_major(module: nn.Module) -> int:
    """Undo store_input_major: every nn.Linear weight back to (C_out, C_in) row-major, nn.Linear's
    own layout, which training's backward pass and the optimiser are tuned for. In place."""
    done: set[int] = set()
    for layer in module.modules():
        if not isinstance(layer, nn.Linear) or id(layer.weight) in done:
            continue
        done.add(id(layer.weight))
        if not layer.weight.is_contiguous():
            layer.weight.data = layer.weight.data.contiguous()
    return len(done)
# --8<-- [end:layout]


# --8<-- [start:split]
# --8<-- [start:split_function]
def split_row_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     parts: int) -> torch.Tensor:
    """F.linear(x, weight, bias) for a single row x (..., C_in), as `parts` products at once.

    weight (C_out, C_in) must be stored input-major, so that its (C_in, C_out) transpose is
    contiguous and splits into P row blocks without a copy.
    """
    C_out, C_in = weight.shape
    if x.numel() != C_in or x.shape[-1] != C_in:
        raise ValueError(f"x must be one row of {C_in} features, got shape {tuple(x.shape)}")
    if parts < 1 or C_in % parts:
        raise ValueError(f"parts={parts} must be >= 1 and divide C_in={C_in}")
    W_t = weight.t()                                            # (C_in, C_out)
    if not W_t.is_contiguous():
        raise ValueError("weight must be stored input-major: call store_input_major first")
    slices = x.reshape(parts, 1, C_in // parts)                 # (P, 1, C_in / P)
    blocks = W_t.view(parts, C_in // parts, C_out)              # (P, C_in / P, C_out)
    y = torch.bmm(slices, blocks).sum(0)                        # (1, C_out): partial sums added
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], C_out)
# --8<-- [end:split_function]


# --8<-- [start:split_module]
# Below this a weight stays in the CPU's caches from one step to the next and a one-row product
# takes microseconds: the split's extra operations would cost more than the parallel read saves
# (measured on the chapter-9 model, whose largest matrix is 256 KB: 1.5x slower split).
SPLIT_MIN_BYTES = 1 << 20


class SplitRowLinear(nn.Linear):
    """nn.Linear that runs a one-row input on every thread when its weight is large enough to
    stream from memory (SPLIT_MIN_BYTES); any other input exactly as nn.Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.get_num_threads()
        W = self.weight
        if (parts > 1 and x.numel() == self.in_features and self.in_features % parts == 0
                and W.numel() * W.element_size() >= SPLIT_MIN_BYTES and W.t().is_contiguous()):
            return split_row_linear(x, W, self.bias, parts)
        return F.linear(x, self.weight, self.bias)


def prepare_for_decoding(module: nn.Module) -> int:
    """Store every nn.Linear's weight input-major and let one-row products use every thread.

    In place; parameters, their values, ties and the state dict keys are unchanged (each layer
    becomes a SplitRowLinear, a subclass of nn.Linear). Returns the matrices re-laid.
    """
    count = store_input_major(module)
    for layer in module.modules():
        if type(layer) is nn.Linear:
            layer.__class__ = SplitRowLinear
    return count
# --8<-- [end:split_module]
# --8<-- [end:split]
