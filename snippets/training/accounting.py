"""Accounting by code: training FLOPs per token, model FLOPs utilisation, and memory.

Kaplan et al., "Scaling Laws for Neural Language Models", 2020 (arXiv:2001.08361), Table 1:
a forward pass costs about 2N + 2 n_layer n_ctx d_attn FLOPs per token, N the non-embedding
parameters, and a backward twice that, so training costs 6N + 6 n_layer n_ctx d_attn.
Shape legend: B batch, T context length, C d_model, F the MLP's hidden width, L layers,
V vocabulary size.
"""

# --8<-- [start:imports]
import copy
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributed._tools.mem_tracker import MemTracker
from torch.utils.flop_counter import FlopCounterMode

from snippets.models.gpt import GPTConfig, count_parameters
# --8<-- [end:imports]


# --8<-- [start:flops]
def flops_per_token(config: GPTConfig, attention: bool = True, n: int | None = None) -> int:
    """Kaplan's estimate of training FLOPs per token: 6N, plus 6 L T C for attention's scores.
    N is GPT's closed-form count unless given (another model family counts its own)."""
    N = count_parameters(config, non_embedding=True) if n is None else n
    return 6 * N + (6 * config.n_layers * config.context_length * config.d_model
                    if attention else 0)


def matmul_flops_per_token(config: GPTConfig) -> int:
    """Every matrix product of a training step, per token, the head and the T x T squares
    included: each weight is used once forward (2 FLOPs a multiply-add) and twice backward
    (the gradients of the input and of the weight), and each of the two attention products,
    QK^T and AV, costs 2 T C per token and layer forward, again 2 x that backward."""
    C, F, L, T, V = (config.d_model, config.hidden, config.n_layers, config.context_length,
                     config.vocab_size)
    weights = L * (4 * C * C + 2 * C * F) + V * C  # W_q, W_k, W_v, W_o, up, down; the head
    return 6 * weights + 3 * L * 2 * (2 * T * C)


def counted_flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward and backward as torch's FlopCounterMode counts them (matrix
    products only); the model's gradients are left as they were."""
    saved = [p.grad for p in model.parameters()]
    with FlopCounterMode(display=False) as counter:
        model(x, y)[1].backward()
    for p, g in zip(model.parameters(), saved, strict=True):
        p.grad = g
    return counter.get_total_flops()
# --8<-- [end:flops]


# --8<-- [start:mfu]
def matmul_peak(device: str = "cpu", dtype: torch.dtype = torch.float32, n: int = 1024,
                repeats: int = 5) -> float:
    """This machine's matrix-product throughput, FLOP/s: the best of `repeats` n x n products,
    the denominator of model FLOPs utilisation (a datasheet's peak is the other choice)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    a @ b  # the first call pays for allocation and kernel selection
    best = float("inf")
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def mfu(flops_per_token: float, tokens_per_second: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: the FLOPs the model needs per second over what the chip can do.
    Recomputation (activation checkpointing) is not counted: it is work the model does not need."""
    return flops_per_token * tokens_per_second / peak_flops
# --8<-- [end:mfu]


# --8<-- [start:memory]
@dataclass(frozen=True)
class TrainingMemory:
    """Bytes of a training step: the weights, their gradients, the optimiser's state, the
    activations the forward keeps for the backward (one micro-batch), and the measured peak
    of a forward and backward (weights, gradients, activations, temporaries; no optimiser)."""

    parameters: int
    gradients: int
    optimizer: int
    activations: int
    step_peak: int

    @property
    def total(self) -> int:
        """The four summed: an upper bound, since the backward frees activations as the
        gradients appear."""
        return self.parameters + self.gradients + self.optimizer + self.activations


def training_memory(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    dtype: torch.dtype = torch.float32, optimizer: str = "adamw"
                    ) -> TrainingMemory:
    """Count the bytes; activations and the peak are measured by torch's MemTracker over one
    forward and backward of (x, y) on a copy of the model, the random state left untouched.
    AdamW keeps two moments a weight; "muon" keeps one momentum buffer for each matrix of the
    blocks (see loop.make_muon) and AdamW's two moments for the rest."""
    if optimizer not in ("adamw", "muon"):
        raise ValueError(f"optimizer must be 'adamw' or 'muon', got {optimizer!r}")
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    matrices = sum(p.numel() * p.element_size() for p in model.blocks.parameters()
                   if p.dim() == 2) if optimizer == "muon" else 0
    state = matrices + 2 * (weights - matrices)
    replica = copy.deepcopy(model)
    cast = nullcontext() if dtype == torch.float32 else torch.autocast(x.device.type, dtype=dtype)
    tracker = MemTracker()
    tracker.track_external(replica)
    with torch.random.fork_rng(devices=[]), tracker:
        with cast:
            loss = replica(x, y)[1]
        kept = tracker.get_tracker_snapshot("current")[x.device]
        loss.backward()
    peak = tracker.get_tracker_snapshot("peak")[x.device]
    activations = sum(v for k, v in kept.items() if getattr(k, "value", k) == "Activation")
    return TrainingMemory(parameters=weights, gradients=weights,
                          optimizer=state, activations=activations,
                          step_peak=peak["Total"])
# --8<-- [end:memory]
