"""Activation checkpointing: keep each block's input, recompute its inside in the backward.

Chen et al., "Training Deep Nets with Sublinear Memory Cost", 2016 (arXiv:1604.06174).
A block's forward saves every intermediate the backward needs (attention inputs, the MLP's
4C-wide hidden, norms' statistics); checkpointed, it saves only its input (B, T, C) and runs
its forward again during the backward, one block at a time: about one more forward of
compute for activation memory that no longer grows with the work inside each block.
"""

# --8<-- [start:imports]
from functools import partial

from torch import nn
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    CheckpointImpl, apply_activation_checkpointing, checkpoint_wrapper)

from snippets.layers.blocks import SelfAttentionBlock
# --8<-- [end:imports]


# --8<-- [start:checkpoint_blocks]
def checkpoint_blocks(model: nn.Module) -> int:
    """Wrap every transformer block of `model` in torch.utils.checkpoint; returns how many.

    torch's wrapper keeps the state-dict keys unchanged, so checkpoints saved from a wrapped
    model load into a plain one. Non-reentrant checkpointing also restores the random state
    for the recomputation: dropout draws the same masks twice.
    """
    wrap = partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT)
    blocks = [m for m in model.modules() if isinstance(m, SelfAttentionBlock)]
    apply_activation_checkpointing(model, checkpoint_wrapper_fn=wrap,
                                   check_fn=lambda m: isinstance(m, SelfAttentionBlock))
    return len(blocks)
# --8<-- [end:checkpoint_blocks]
