"""Where a linear layer's weights sit in memory, and why one-token decoding cares.

nn.Linear keeps W as an (out, in) row-major matrix and computes x W^T. At batch 1 a cached
decoding step multiplies one vector by every weight matrix, so the step is as fast as the
matrix-vector products stream weights from memory, and on CPU that speed depends on the
layout: with W stored (in, out) row-major, GPT-2's own Conv1D layout (Radford et al., 2019),
the same product runs faster (benchmarks/bench_generation.py measures both). The values do
not change, only the order of the bytes, so the model computes the same function; floating-
point sums may be taken in another order.

Shape legend: C_in input width, C_out output width.
"""

# --8<-- [start:imports]
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
# --8<-- [end:layout]
