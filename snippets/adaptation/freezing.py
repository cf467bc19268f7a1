"""Which parameters train, and how fast: freezing, gradual unfreezing, layer-wise lr decay.

Discriminative learning rates and gradual unfreezing: Howard & Ruder, ULMFiT (2018,
arXiv:1801.06146). Layer-wise decay as used for BERT/ELECTRA fine-tuning: the learning
rate of block l (of L) is lr · decay^(L − l), the head keeps lr.
Shape legend: L number of blocks; the model exposes them as `model.blocks` (our GPT) or
`model.encoder.layer` (transformers' BERT family).
"""

# --8<-- [start:imports]
import torch
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:count]
def trainable_parameters(model: nn.Module) -> int:
    """Parameters that receive gradients (a tied matrix counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def adam_state_bytes(model: nn.Module) -> int:
    """AdamW keeps two moments (m, v) per trainable parameter, in the parameter's dtype."""
    return sum(2 * p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
# --8<-- [end:count]


# --8<-- [start:freeze]
def blocks_of(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks, bottom first."""
    if hasattr(model, "blocks"):
        return model.blocks
    if hasattr(model, "encoder") and hasattr(model.encoder, "layer"):
        return model.encoder.layer
    raise ValueError(f"{type(model).__name__} has neither .blocks nor .encoder.layer")


def freeze_bottom(model: nn.Module, n_frozen: int, freeze_embeddings: bool = True) -> None:
    """Freeze the embeddings and the lowest n_frozen blocks; everything above trains."""
    blocks = blocks_of(model)
    if not 0 <= n_frozen <= len(blocks):
        raise ValueError(f"n_frozen={n_frozen} must be in [0, {len(blocks)}] blocks")
    for p in model.parameters():
        p.requires_grad_(True)
    if freeze_embeddings:
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                module.weight.requires_grad_(False)  # a tied head freezes with it
    for block in list(blocks)[:n_frozen]:
        for p in block.parameters():
            p.requires_grad_(False)


def unfreeze_schedule(n_blocks: int, epoch: int) -> int:
    """Gradual unfreezing: epoch 0 trains only the top (head), each epoch one more block."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    return max(n_blocks - epoch, 0)  # how many blocks stay frozen
# --8<-- [end:freeze]


# --8<-- [start:layerwise]
def layerwise_lr_groups(model: nn.Module, lr: float, decay: float) -> list[dict]:
    """AdamW groups: lr · decay^(L − l) for block l (1-based), lr · decay^L for the embeddings
    (a "block 0"), lr for everything above the blocks ("top": final norm, an untied head).
    An output head tied to an embedding shares its matrix, so it trains at the lowest rate;
    the group's name says so."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    blocks = list(blocks_of(model))
    L = len(blocks)
    seen: set[int] = set()
    groups: list[dict] = []
    for l, block in enumerate(blocks, start=1):
        params = [p for p in block.parameters() if p.requires_grad]
        seen.update(id(p) for p in block.parameters())
        groups.append({"params": params, "lr": lr * decay ** (L - l), "name": f"block {l}"})
    embeddings = [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]
    tied = any(isinstance(m, nn.Linear) and any(m.weight is e for e in embeddings)
               for m in model.modules())
    seen.update(id(p) for p in embeddings)
    groups.insert(0, {"params": [p for p in embeddings if p.requires_grad],
                      "lr": lr * decay ** L, "name": "embeddings + tied head" if tied
                      else "embeddings"})
    rest = [p for p in model.parameters() if id(p) not in seen and p.requires_grad]
    groups.append({"params": rest, "lr": lr, "name": "top"})
    return [g for g in groups if g["params"]]


def make_optimizer(groups: list[dict], weight_decay: float = 0.0) -> torch.optim.AdamW:
    return torch.optim.AdamW([{k: v for k, v in g.items() if k != "name"} for g in groups],
                             weight_decay=weight_decay)
# --8<-- [end:layerwise]
