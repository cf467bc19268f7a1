"""(IA)³: learned vectors that rescale activations (Liu et al., 2022, arXiv:2205.05638).

The paper rescales keys, values and the feed-forward hidden activation by learned vectors
l_k, l_v, l_ff initialised to ones. On an attention projection the vector multiplies the
layer's output, y = l ⊙ (x W^T + b); on the feed-forward down-projection it multiplies the
input, y = (l ⊙ x) W^T + b. peft follows the same rule ("feedforward" modules scale input).
Shape legend: B batch, T time, C_in / C_out the layer's input / output width.
"""

# --8<-- [start:imports]
import torch
from torch import nn

from snippets.adaptation.lora import find_targets, is_transposed_linear, replace_module
# --8<-- [end:imports]


# --8<-- [start:ia3]
class IA3Linear(nn.Module):
    """A frozen linear layer whose output (or, for a feed-forward layer, input) is rescaled."""

    def __init__(self, base: nn.Module, feedforward: bool):
        super().__init__()
        if not (isinstance(base, nn.Linear) or is_transposed_linear(base)):
            raise TypeError(f"IA3 wraps nn.Linear or GPT-2's Conv1D, got {type(base).__name__}")
        W = base.weight
        transposed = is_transposed_linear(base)
        c_in, c_out = (W.shape[0], W.shape[1]) if transposed else (W.shape[1], W.shape[0])
        for p in base.parameters():
            p.requires_grad_(False)
        self.base, self.feedforward = base, feedforward
        self.in_features, self.out_features = c_in, c_out
        # ones: the adapted model starts equal to the base model
        self.scale = nn.Parameter(torch.ones(c_in if feedforward else c_out, dtype=W.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.feedforward:
            return self.base(x * self.scale)                          # (B, T, C_out)
        return self.base(x) * self.scale                              # (B, T, C_out)


def add_ia3(model: nn.Module, targets: list[str], feedforward: list[str]) -> list[str]:
    """Freeze the model; wrap targets (output scaling) and feedforward (input scaling)."""
    ff = set(find_targets(model, feedforward)) if feedforward else set()
    names = find_targets(model, targets)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        replace_module(model, name, IA3Linear(model.get_submodule(name), name in ff))
    return names
# --8<-- [end:ia3]
