"""Multi-process launch support (``torchrun`` / ``accelerate launch``).

Under a launcher every process runs the same command. The process group is initialised once
through accelerate's ``PartialState`` (which the HF Trainer then reuses): trainer stages run on all
processes (DDP / DeepSpeed), every other stage (data, sampling, rewards, critic, dev evaluation)
runs on the main process while the others wait at a barrier with a long timeout.
"""

from __future__ import annotations

import os
from datetime import timedelta

_STATE = None


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init(timeout_hours: float = 12.0) -> None:
    """Initialise the process group when launched with several processes (no-op otherwise)."""
    global _STATE
    if _STATE is not None or world_size() <= 1:
        return
    import torch
    from accelerate import PartialState

    # On a machine without GPUs accelerate only sets up gloo DDP when told ``cpu=True`` (otherwise
    # it initialises the group but reports a single process, and the Trainer trains unsharded).
    _STATE = PartialState(cpu=not torch.cuda.is_available(), timeout=timedelta(hours=timeout_hours))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def barrier() -> None:
    if _STATE is not None:
        _STATE.wait_for_everyone()
