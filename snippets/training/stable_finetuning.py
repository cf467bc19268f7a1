"""Three knobs of BERT fine-tuning stability: Adam's bias correction, layer-wise learning-rate
decay, and re-initialising the top layers.

BERT's original optimiser ("BertAdam") is Adam with decoupled weight decay and no bias
correction; Mosbach et al. (2021, arXiv:2006.04884) and Zhang et al. (2021, arXiv:2006.05987)
trace part of fine-tuning's instability across seeds to that omission. Layer-wise decay
gives layer l of L the rate lr * decay^(L - l) (the embeddings decay^L); re-initialisation
(Zhang et al.) draws the top blocks afresh with BERT's initialiser.
"""

# --8<-- [start:imports]
import torch
from torch import nn

from snippets.models.bert import BertModel, init_bert_weights
# --8<-- [end:imports]


# --8<-- [start:bert_adam]
class BertAdam(torch.optim.Optimizer):
    """theta <- theta - lr (m / (sqrt(v) + eps) + wd theta), with m, v Adam's moving averages;
    bias_correction=True divides them by (1 - beta1^t) and (1 - beta2^t) first, which makes it
    torch.optim.AdamW. Without it, step 1 moves each weight by lr (1 - beta1) / sqrt(1 - beta2),
    3.16 lr at BERT's betas (0.9, 0.999), where corrected Adam moves it by lr."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0, bias_correction: bool = False):
        if not (lr > 0 and 0 <= betas[0] < 1 and 0 <= betas[1] < 1 and eps > 0 and weight_decay >= 0):
            raise ValueError(f"need lr > 0, betas in [0, 1), eps > 0, weight_decay >= 0; got lr={lr}, "
                             f"betas={betas}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      bias_correction=bias_correction))

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["t"] += 1
                m, v, t = state["m"], state["v"], state["t"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                if group["bias_correction"]:
                    update = (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + group["eps"])
                else:
                    update = m / (v.sqrt() + group["eps"])
                p.add_(update + group["weight_decay"] * p, alpha=-group["lr"])
# --8<-- [end:bert_adam]


# --8<-- [start:layerwise]
def layerwise_lr_groups(bert: BertModel, head: nn.Module, lr: float, decay: float) -> list[dict]:
    """Parameter groups: the head and the top block at lr, block l (0-based, of L) at
    lr * decay^(L - 1 - l), the embeddings at lr * decay^L; the pooler with the top block."""
    if not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    L = len(bert.blocks)
    groups = [{"params": list(bert.embeddings.parameters()), "lr": lr * decay ** L}]
    groups += [{"params": list(block.parameters()), "lr": lr * decay ** (L - 1 - l)}
               for l, block in enumerate(bert.blocks)]
    groups.append({"params": [*bert.pooler.parameters(), *head.parameters()], "lr": lr})
    return groups
# --8<-- [end:layerwise]


# --8<-- [start:reinit]
def reinit_top_layers(bert: BertModel, n: int) -> None:
    """Draw the top n blocks and the pooler afresh with BERT's initialiser (in place)."""
    if not 0 <= n <= len(bert.blocks):
        raise ValueError(f"n must be in [0, {len(bert.blocks)}], got {n}")
    for block in list(bert.blocks)[len(bert.blocks) - n:]:
        block.apply(init_bert_weights)
    bert.pooler.apply(init_bert_weights)
# --8<-- [end:reinit]
