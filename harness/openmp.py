"""How OpenMP worker threads wait between parallel regions: set before torch is first imported.

Why: a decode step of a small model is hundreds of tiny parallel regions. Measured on the 2-core
machine (SmolLM2-135M, K=15 sampling of 4 prompts, 2 torch threads), tokens/s:

=====================================  ============  ==================================
policy                                 machine idle  two 1-thread evals running beside
=====================================  ============  ==================================
``OMP_WAIT_POLICY=PASSIVE`` (sleep)    96-100        56-93
``GOMP_SPINCOUNT=10000`` (short spin)  145-163       50-51
``OMP_WAIT_POLICY=ACTIVE`` (spin)      160-167       11-29 (an earlier decode step: 30x slower)
=====================================  ============  ==================================

So: a short spin when the machine is idle at start (1-minute load average under half the cores),
sleeping workers when it is busy. Variables the user set are never touched.
"""

from __future__ import annotations

import os
import sys

SPIN = {"GOMP_SPINCOUNT": "10000"}
SLEEP = {"OMP_WAIT_POLICY": "PASSIVE"}


def wait_policy(load: float | None, cores: int) -> dict[str, str]:
    """The variables to set for a machine with this 1-minute ``load`` average (None: unknown)."""
    return SLEEP if load is None or load >= 0.5 * max(cores, 1) else SPIN


def configure_openmp() -> dict[str, str]:
    """Apply :func:`wait_policy` unless torch is already loaded or the user chose a policy; returns
    what was set."""
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return {}
    try:
        load: float | None = os.getloadavg()[0]
    except (OSError, AttributeError):
        load = None
    chosen = wait_policy(load, os.cpu_count() or 1)
    os.environ.update(chosen)
    return dict(chosen)
