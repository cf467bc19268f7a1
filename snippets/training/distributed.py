"""Data parallelism: replicated with DistributedDataParallel (Li et al., 2020, arXiv:2006.15704),
or sharded with torch's fully_shard (FSDP2; Zhao et al., 2023, arXiv:2304.11277).

Under torchrun every DDP process holds a full replica; DDP all-reduces (averages) gradients
during backward, so the replicas take identical optimiser steps and stay identical. Sharded,
each of N processes keeps 1/N of every parameter, of its gradient and of AdamW's moments (ZeRO
stage 3; Rajbhandari et al., 2020, arXiv:1910.02054): a block's weights are all-gathered just
before its forward and its backward, and its gradients reduce-scattered after, so each process
steps only its own shard. gloo works on CPUs, NCCL on NVIDIA GPUs. Launched without torchrun,
everything here is a no-op.
"""

# --8<-- [start:imports]
import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor
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


def wrap(model: nn.Module, r: Rank, device: str, shard: bool = False) -> nn.Module:
    """The model as DDP sees it (broadcast from rank 0, gradients averaged), or, with shard,
    sharded in place over the ranks; build the optimiser after sharding, on the shards."""
    if r.world_size == 1:
        return model
    if shard:
        for block in model.blocks:  # one all-gather per block: only one block is ever whole
            fully_shard(block)
        fully_shard(model)  # the rest: embeddings, final norm, head
        return model
    ids = [r.local_rank] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


# --8<-- [end:setup]


def teardown() -> None:
    """Leave the process group, after the run's objects are gone. Sharded modules sit in
    reference cycles (hooks that point back at their module) that only the garbage collector
    frees; left to the interpreter's shutdown, they are freed after the group is destroyed, and
    gloo aborts the process ("terminate called without an active exception")."""
    if dist.is_initialized():
        gc.collect()
        dist.barrier()  # gloo aborts a rank that leaves while a peer still has work in flight
        dist.destroy_process_group()


# --8<-- [start:full_state]
def is_sharded(model: nn.Module) -> bool:
    return any(isinstance(p, DTensor) for p in model.parameters())


# a checkpoint holds whole tensors, in the layout one process would save: any number of ranks,
# sharded or not, can resume it
FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """The whole model's and optimiser's state dicts; sharded, a collective that every rank
    must call (rank 0 receives the tensors, the others empty dicts)."""
    if not is_sharded(model):
        return model.state_dict(), optimizer.state_dict()
    weights = get_model_state_dict(model, options=FULL)
    by_name = get_optimizer_state_dict(model, optimizer, options=FULL)
    if not weights:  # not rank 0
        return {}, {}
    # torch names each parameter's state by its name; a plain state dict numbers the
    # parameters group by group, in the optimiser's order
    names = parameter_names(model, optimizer)
    number = {name: i for i, name in enumerate(names)}
    groups = [{**g, "params": [number[n] for n in g["params"]]} for g in by_name["param_groups"]]
    return weights, {"state": {number[n]: v for n, v in by_name["state"].items()},
                     "param_groups": groups}


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer,
                              saved: dict) -> None:
    """Load a plain (whole-tensor) optimiser state dict into an optimiser, sharded or not."""
    if not is_sharded(model):
        optimizer.load_state_dict(saved)
        return
    names = parameter_names(model, optimizer)
    groups = [{**g, "params": [names[i] for i in g["params"]]} for g in saved["param_groups"]]
    set_optimizer_state_dict(model, optimizer, {"state": {names[i]: v for i, v in saved["state"].items()},
                                                "param_groups": groups},
                             options=StateDictOptions(full_state_dict=True))


def parameter_names(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """Each optimised parameter's name, in the order a plain state dict numbers them."""
    name = {id(p): n for n, p in model.named_parameters()}
    return [name[id(p)] for group in optimizer.param_groups for p in group["params"]]
# --8<-- [end:full_state]
