"""Two-process runs over gloo in the tests (``mp.start_processes``): a free loopback port, and the
environment torchrun would give one rank."""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def become_rank(rank: int, world: int, port: int) -> None:
    """Set this process up as ``rank`` of ``world`` processes meeting on 127.0.0.1:``port``, one torch thread."""
    import torch

    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    torch.set_num_threads(1)
