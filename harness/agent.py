"""The agent contract: an agent advances a batch of tasks through an environment.

An agent producer (entry-point group ``harness.agents``) builds an :class:`Agent` from
:class:`AgentOptions`. Producers must be cheap to import; load models in ``build``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from harness.environment import Environment
from harness.records import SampleStatus, Task, Trajectory


class AgentOptions(BaseModel):
    """What the CLI or a config file says about the agent pair."""

    planner: str | None = None
    """Model id or path for the planning agent (``None`` = the producer's default)."""
    grounder: str | None = None
    backend: str = "hf"
    seed: int = 0
    batch_size: int = 8
    extra: dict[str, Any] = Field(default_factory=dict)
    """Producer-specific options (``--config`` file ``agent:`` section)."""


class Agent(ABC):
    """Runs tasks in lock-step so that every model call is batched."""

    @abstractmethod
    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        """One trajectory per task, same order. Must not raise for model or tool failures:
        record them in ``Trajectory.status`` / ``error`` instead."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Everything that changes the agent's behaviour (models, prompts, decoding): hashed into
        the run identity."""

    def close(self) -> None:
        """Free models."""


class AgentProducer(ABC):
    """Builds agents; registered under ``harness.agents``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def build(self, options: AgentOptions) -> Agent:
        """Build the agent, loading whatever models it needs."""

    @classmethod
    def info(cls) -> dict[str, Any]:
        return {"name": cls.name, "description": cls.description}


def trajectory_status(traj: Trajectory) -> SampleStatus:
    """Status implied by the action results: the first invalid action or tool error wins."""
    for turn in traj.turns:
        for res in turn.results:
            if res.error_kind == SampleStatus.INVALID_ACTION.value:
                return SampleStatus.INVALID_ACTION
            if res.error_kind == SampleStatus.TOOL_ERROR.value:
                return SampleStatus.TOOL_ERROR
    return SampleStatus.OK
