"""The training loop: AdamW with decoupled weight decay, warm-up plus cosine, clipping, evaluation.

AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2017 (arXiv:1711.05101).
Muon: Jordan et al., 2024 (kellerjordan.github.io/posts/muon); its learning-rate matching to
AdamW: Liu et al., "Muon is Scalable for LLM Training", 2025 (arXiv:2502.16982).
Shape legend: B batch, T context length, V vocabulary size.
"""

# --8<-- [start:imports]
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from snippets.training.precision import DTYPES, autocast, make_scaler
from snippets.training.schedule import lr_at
from snippets.training.text_data import get_batch
# --8<-- [end:imports]


# --8<-- [start:config]
OPTIMIZERS = ("adamw", "muon")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings; the defaults are the 4-layer Shakespeare recipe's."""

    batch_size: int = 12              # global micro-batch: split across ranks under DDP
    grad_accum: int = 1               # micro-batches per step: a step sees grad_accum * batch_size
    dtype: str = "float32"            # autocast dtype of the forward pass; weights stay float32
    optimizer: str = "adamw"          # "muon": Muon on the blocks' matrices, AdamW on the rest
    max_steps: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0            # max global L2 norm; 0 disables clipping
    eval_interval: int = 250
    eval_iters: int = 20
    seed: int = 1337
    target_loss: float | None = None  # stop at the first evaluation at or below it

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "max_steps", "eval_interval", "eval_iters"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        lr_ok = math.isfinite(self.lr) and self.lr > 0  # `nan <= 0` is False: test finiteness
        if not lr_ok or self.grad_clip < 0 or self.weight_decay < 0:
            raise ValueError(f"need lr > 0, grad_clip >= 0, weight_decay >= 0; got lr={self.lr}, "
                             f"grad_clip={self.grad_clip}, weight_decay={self.weight_decay}")
        if self.target_loss is not None and not (math.isfinite(self.target_loss)
                                                 and self.target_loss > 0):
            raise ValueError(f"target_loss must be a finite number > 0, got {self.target_loss}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        lr_at(0, max_lr=self.lr, min_lr=self.min_lr, warmup_steps=self.warmup_steps,
              total_steps=self.max_steps)  # validates the schedule's arguments
# --8<-- [end:config]


# --8<-- [start:param_groups]
def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: matrices of Linear layers decay; biases, norms and embeddings do not.

    Decay pulls a weight towards zero. That regularises a projection matrix, but a bias or a
    norm's gain has no scale freedom to trade, and decay shrinks the rows of rare tokens, whose
    only gradient is the small softmax push of a tied output head (early nanoGPT's choice for
    its tied matrix; nanoGPT today decays every matrix, embeddings included).
    """
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.LayerNorm, nn.RMSNorm)):
            no_decay.update(id(p) for p in module.parameters(recurse=False))
    decay, rest = [], []
    for name, p in model.named_parameters():  # de-duplicates a tied head/embedding matrix
        if not p.requires_grad:
            continue
        if p.dim() < 2 or id(p) in no_decay or name.endswith("bias"):
            rest.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, config: TrainConfig) -> "torch.optim.Optimizer | Optimizers":
    groups = param_groups(model, config.weight_decay)
    if config.optimizer == "muon":
        return make_muon(model, groups, config)
    # fused: one operation updates the whole list of tensors, not about ten per tensor
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, fused=True)
# --8<-- [end:param_groups]


# --8<-- [start:optimizers]
class Optimizers:
    """Optimisers over disjoint parameters, driven as one: the calls train_step, a checkpoint
    and a resume make (param_groups, zero_grad, step, state_dict, load_state_dict)."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict]:
        return [group for opt in self.optimizers for group in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()

    def state_dict(self) -> dict:
        return {"optimizers": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("optimizers")
        if not isinstance(saved, list) or len(saved) != len(self.optimizers):
            raise ValueError(f"expected the state of {len(self.optimizers)} optimisers; this one "
                             f"was saved by another optimiser")
        for opt, s in zip(self.optimizers, saved, strict=True):
            opt.load_state_dict(s)
# --8<-- [end:optimizers]


# --8<-- [start:muon]
def make_muon(model: nn.Module, groups: list[dict], config: TrainConfig) -> Optimizers:
    """Muon for every matrix inside the blocks (attention and MLP projections); AdamW, with
    make_optimizer's decay groups, for the embeddings, the head, norms and biases, as the Muon
    post prescribes. `model` is the model itself, not a wrapper.

    Muon replaces the Nesterov look-ahead of a matrix's momentum, M = U S V^T, by about U V^T
    (five Newton-Schulz steps in bfloat16, which leave the singular values in a band around 1):
    every direction of the update moves the weights by about as much. "match_rms_adamw" scales
    it by 0.2 sqrt(max(rows, columns)), bringing its root-mean-square entry to about 0.2, the
    size Liu et al. observe for AdamW's updates, so one learning rate, schedule and weight
    decay serve both optimisers.
    """
    matrices = [p for p in model.blocks.parameters() if p.dim() == 2 and p.requires_grad]
    chosen = {id(p) for p in matrices}
    rest = [{**g, "params": [p for p in g["params"] if id(p) not in chosen]} for g in groups]
    rest = [g for g in rest if g["params"]]  # a tied GPT decays nothing else: no empty group
    muon = torch.optim.Muon(matrices, lr=config.lr, weight_decay=config.weight_decay,
                            adjust_lr_fn="match_rms_adamw")
    adamw = torch.optim.AdamW(rest, lr=config.lr, betas=config.betas, fused=True)
    return Optimizers(muon, adamw)
# --8<-- [end:muon]


# --8<-- [start:evaluate]
@torch.no_grad()
def evaluate(model: nn.Module, data: torch.Tensor, batch_size: int, context_length: int,
             iters: int, seed: int = 0) -> float:
    """Mean loss (nats per token) over `iters` random batches, the same batches every call.

    Its own generator: evaluating never moves the training batches' random stream, so a
    run with evaluation sees the same training data as one without.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(iters):
        x, y = get_batch(data, batch_size, context_length, generator)
        total += model(x.to(device), y.to(device))[1].item()
    model.train(was_training)
    return total / iters
# --8<-- [end:evaluate]


# --8<-- [start:train_step]
class DivergedError(ValueError):
    """The loss or the gradient is not finite: one more update would make every weight NaN."""


IGNORE_INDEX = -100  # F.cross_entropy's default: a target that is padding, not a token


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, lr: float, grad_clip: float, *, grad_accum: int = 1,
               dtype: torch.dtype = torch.float32,
               scaler: torch.amp.GradScaler | None = None) -> tuple[float, float]:
    """One optimiser step on x, y (B, T) at learning rate lr, with the backward done in
    grad_accum micro-batches; returns (the batch's mean loss, gradient norm before clipping).

    The model's loss is a mean over a micro-batch's counted targets. Weighting micro-batch i
    by n_i / sum(n), its share of all counted targets, makes the summed gradient that of the
    whole batch's mean, whatever the padding; a plain 1 / grad_accum does so only when every
    micro-batch counts the same number of targets. One micro-batch has weight 1.0: no bit moves.

    Raises DivergedError, before the update, when the loss or the gradient is inf or NaN;
    under a float16 scaler an inf gradient is an overflow instead: the scaler skips the step
    and lowers its scale.
    """
    if not 1 <= grad_accum <= len(x):
        raise ValueError(f"grad_accum must be in [1, {len(x)}] for a batch of {len(x)}, "
                         f"got {grad_accum}")
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    micro = list(zip(x.tensor_split(grad_accum), y.tensor_split(grad_accum), strict=True))
    counts = [int((yi != IGNORE_INDEX).sum()) for _, yi in micro]
    if sum(counts) == 0:
        raise ValueError("every target is padding: there is no loss to train on")
    loss = None
    for i, ((xi, yi), n) in enumerate(zip(micro, counts, strict=True)):
        if n == 0:  # its mean would be 0 / 0; it adds nothing to the sum
            continue
        # DDP all-reduces at the last micro-batch's backward only, not at every one
        last = i == len(micro) - 1
        sync = nullcontext() if last or not hasattr(model, "no_sync") else model.no_sync()
        with sync:
            with autocast(x.device.type, dtype):
                _, micro_loss = model(xi, yi)
            weighted = micro_loss * (n / sum(counts))
            (weighted if scaler is None else scaler.scale(weighted)).backward()
        loss = weighted.detach() if loss is None else loss + weighted.detach()
    if scaler is not None:
        scaler.unscale_(optimizer)  # clip and report the true gradient, not the scaled one
    if grad_clip > 0:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    else:
        norm = torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    loss_value, norm_value = loss.item(), norm.item()
    overflow = scaler is not None and math.isfinite(loss_value)
    if not (math.isfinite(loss_value) and (math.isfinite(norm_value) or overflow)):
        raise DivergedError(f"training diverged: loss {loss_value}, gradient norm {norm_value} "
                            f"at learning rate {lr:.3g}; try a lower learning rate")
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)  # skipped when a gradient overflowed
        scaler.update()
    return loss_value, norm_value
# --8<-- [end:train_step]


# --8<-- [start:state]
@dataclass
class TrainState:
    """Everything a resumed run needs besides the weights and the optimiser."""

    step: int = 0
    batch_rng: torch.Generator = field(default_factory=torch.Generator)
    history: list[dict] = field(default_factory=list)  # one row per evaluation

    @classmethod
    def fresh(cls, seed: int) -> "TrainState":
        torch.manual_seed(seed)  # initialisation and dropout
        return cls(batch_rng=torch.Generator().manual_seed(seed))
# --8<-- [end:state]


# --8<-- [start:train]
def unwrap(model: nn.Module) -> nn.Module:
    """The model itself under torch.compile's and DDP's wrappers (for its config, evaluation)."""
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)      # DistributedDataParallel


def train(model: nn.Module, optimizer: torch.optim.Optimizer, train_data: torch.Tensor,
          val_data: torch.Tensor, config: TrainConfig, state: TrainState, *,
          stop_at: int | None = None,
          on_step: Callable[[int, float, float], None] | None = None,
          on_eval: Callable[[dict], bool | None] | None = None) -> TrainState:
    """Train from state.step up to stop_at (default config.max_steps); returns the state.

    Each step draws one global batch of grad_accum * batch_size windows. Under
    torch.distributed every rank draws the same global batch and keeps its own slice, so N
    ranks see exactly the windows one process would, and DDP's gradient average equals the
    single-process gradient of the global batch; each rank then splits its slice into
    grad_accum micro-batches. The run stops early at the first
    evaluation whose validation loss reaches config.target_loss, or when on_eval returns True.
    """
    world, rank = (dist.get_world_size(), dist.get_rank()) if dist.is_initialized() else (1, 0)
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} is not divisible by {world} ranks")
    local = config.batch_size // world * config.grad_accum  # this rank's windows per step
    raw = unwrap(model)
    T = raw.config.context_length
    device = next(model.parameters()).device
    stop = config.max_steps if stop_at is None else stop_at
    dtype = DTYPES[config.dtype]
    scaler = make_scaler(dtype, device.type)  # float16 only; starts again at 2**16 on resume
    model.train()
    while state.step < stop:
        step = state.step
        lr = lr_at(step, max_lr=config.lr, min_lr=config.min_lr,
                   warmup_steps=config.warmup_steps, total_steps=config.max_steps)
        x, y = get_batch(train_data, config.batch_size * config.grad_accum, T,
                         state.batch_rng)                                 # global (A * B, T)
        x, y = x[rank * local:(rank + 1) * local], y[rank * local:(rank + 1) * local]
        try:
            loss, norm = train_step(model, optimizer, x.to(device), y.to(device), lr,
                                    config.grad_clip, grad_accum=config.grad_accum, dtype=dtype,
                                    scaler=scaler)
        except DivergedError as error:
            raise DivergedError(f"step {step + 1}: {error}") from None
        if world > 1:  # report the global batch's loss, not this rank's slice
            t = torch.tensor([loss], device=device)
            dist.all_reduce(t)
            loss = t.item() / world
        state.step += 1
        if on_step is not None:
            on_step(state.step, loss, lr)
        if state.step % config.eval_interval == 0 or state.step == config.max_steps:
            row = {"step": state.step, "train_loss": loss, "time": time.perf_counter(),
                   "val_loss": evaluate(raw, val_data, config.batch_size, T, config.eval_iters,
                                        seed=config.seed + 1)}
            state.history.append(row)
            stop_here = on_eval is not None and on_eval(row)
            if stop_here or (config.target_loss is not None
                             and row["val_loss"] <= config.target_loss):
                break
    return state
# --8<-- [end:train]


# --8<-- [start:bits_per_char]
def bits_per_character(loss_nats: float, n_tokens: int, n_chars: int) -> float:
    """Convert a mean loss per token into bits per character of the same text."""
    if n_tokens < 1 or n_chars < 1:
        raise ValueError(f"need n_tokens >= 1 and n_chars >= 1, got {n_tokens}, {n_chars}")
    return loss_nats * n_tokens / n_chars / math.log(2)
# --8<-- [end:bits_per_char]
