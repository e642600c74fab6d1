"""Data-parallel training under ``torchrun`` (PyTorch DistributedDataParallel).

``torchrun --nproc-per-node N -m impasto fast train ...`` starts N copies of the
same command with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` in their environment. :func:`init_from_env` reads them and joins
the process group: ``gloo`` on the CPU, ``nccl`` on CUDA GPUs (one GPU per
process, by local rank). Every rank draws different crops
(``ImageFolder.batch(..., rank=)``), DDP averages the gradients, so all ranks
keep identical weights; only rank 0 writes checkpoints, samples and progress.
Without ``WORLD_SIZE`` (or with 1) nothing here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a distributed run (``enabled`` False for a single process)."""

    enabled: bool = False
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InputError(f"environment variable {name} must be an integer; got {value!r}") from None


def init_from_env(device: str = "auto") -> DistInfo:
    """Join the process group described by torchrun's environment; a no-op for a single process.

    ``device`` is the run's device option: ``auto`` uses CUDA (nccl) when present, else the CPU (gloo).
    """
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            raise InputError("distributed run asked for CUDA, but this torch build sees no GPU")
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(True, rank, world, local_rank, dev)


def wrap(net: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around ``net`` (its weights are broadcast from rank 0 here)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def cleanup(info: DistInfo) -> None:
    """Leave the process group (after a barrier, so rank 0 has finished writing)."""
    if not info.enabled:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
