"""Data parallelism with DistributedDataParallel (Li et al., 2020, arXiv:2006.15704).

Under torchrun every process holds a full replica; DDP all-reduces (averages) gradients during
backward, so the replicas take identical optimiser steps and stay identical. gloo works on CPUs,
NCCL on NVIDIA GPUs. Launched without torchrun, everything here is a no-op.
"""

# --8<-- [start:imports]
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
# --8<-- [end:imports]


# --8<-- [start:setup]
@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:  # only rank 0 logs, evaluates for the user and saves
        return self.rank == 0


def setup(device: str) -> Rank:
    """Join the process group torchrun describes in the environment; else a single rank."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Rank()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    dist.init_process_group(backend=backend)
    r = Rank(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device.startswith("cuda"):
        torch.cuda.set_device(r.local_rank)  # one GPU per process
    return r


def wrap(model: nn.Module, r: Rank, device: str) -> nn.Module:
    """The model as DDP sees it: broadcast from rank 0 at wrap time, gradients averaged."""
    if r.world_size == 1:
        return model
    ids = [r.local_rank] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
# --8<-- [end:setup]
