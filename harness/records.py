"""Versioned records shared by every environment, agent and the runner.

Everything persisted to disk (samples.jsonl lines, results.json, config.json) is one of the pydantic
models below, so a reader can validate old files and a schema change bumps ``SCHEMA_VERSION``
(imitating lm-eval's ``result_schema.py`` and inspect's ``EvalLog``).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

SCHEMA_VERSION = "1.2"
# 1.1: SampleRecord.harness_git, RunResult.sample_commits
# 1.2: RunResult.packages; statuses harness_error and score_error; RunConfig.env_options (hashed),
#      env_settings and env_exemplars (hashed when set)


def _null_to_nan(value: Any) -> Any:
    return float("nan") if value is None else value


NanFloat = Annotated[float, BeforeValidator(_null_to_nan)]
"""A float that JSON stores as ``null`` when NaN (e.g. the stderr of one sample) and reads back."""


class SampleStatus(str, Enum):
    """Why a sample ended (first-class, as AgentBench's ``SampleStatus``)."""

    OK = "ok"
    INVALID_ACTION = "invalid_action"
    TOOL_ERROR = "tool_error"
    MAX_ROUNDS = "max_rounds"
    MODEL_ERROR = "model_error"
    HARNESS_ERROR = "harness_error"
    """The agent crashed on this task alone, or its record could not be written
    (:mod:`harness.sample_guard`); the error text is in the trajectory."""
    SCORE_ERROR = "score_error"
    """The environment's ``score()`` raised or returned a bad metric for this sample."""


class Task(BaseModel):
    """One benchmark item. ``gold`` is what the metric compares against."""

    id: str
    question: str
    gold: Any = None
    """What the environment's ``score()`` compares against: any JSON value (the maths and QA kits use
    a string, Mind2Web a list of gold steps); stored in every sample record."""
    gold_plan: list[str] | None = None
    """Gold subgoals, one string per subgoal (without the ``Subgoal k:`` prefix)."""
    gold_actions: list[str] | None = None
    """Gold grounded actions, one Lumos action string per subgoal (``R1 = X(..); R2 = ..``)."""
    meta: dict[str, Any] = Field(default_factory=dict)


class ToolSpec(BaseModel):
    """An action the grounder may emit; renders the "available action list" of the prompt."""

    name: str
    signature: str
    """E.g. ``Calculator(formula)``."""
    description: str


class ActionResult(BaseModel):
    """The outcome of executing one parsed action (or of failing to)."""

    action: str
    """The action text as the grounder wrote it."""
    tool: str | None = None
    outputs: list[str] = Field(default_factory=list)
    """Variables assigned (``R1``, ``Output``)."""
    result: str | None = None
    error: str | None = None
    error_kind: str | None = None
    """``invalid_action`` (parse/arity/unknown tool/undefined variable) or ``tool_error``."""

    @property
    def ok(self) -> bool:
        return self.error is None


class Turn(BaseModel):
    """One plan step, its grounding and the execution of its actions."""

    subgoal: str
    actions: str = ""
    results: list[ActionResult] = Field(default_factory=list)
    planner_raw: str | None = None
    grounder_raw: str | None = None


class Trajectory(BaseModel):
    """Everything an agent did on one task."""

    turns: list[Turn] = Field(default_factory=list)
    final_answer: str | None = None
    status: SampleStatus = SampleStatus.OK
    error: str | None = None
    model_calls: int = 0
    generated_tokens: int = 0
    extra: dict[str, Any] = Field(default_factory=dict)


class SampleRecord(BaseModel):
    """One line of ``samples.jsonl``: written and flushed as soon as the sample finishes."""

    schema_version: str = SCHEMA_VERSION
    id: str
    question: str
    gold: Any = None
    prediction: str | None = None
    metrics: dict[str, float]
    status: SampleStatus
    trajectory: Trajectory
    seconds: float = 0.0
    harness_git: str | None = None
    """The harness commit that produced this sample (a run extended later may mix commits); None in
    samples written before schema 1.1."""


class RunConfig(BaseModel):
    """``config.json``: the identity of a run. Its hash guards resume."""

    schema_version: str = SCHEMA_VERSION
    agent: str
    agent_config: dict[str, Any]
    benchmark: str
    benchmark_version: str
    split: str
    seed: int
    data_checksum: str | None = None
    command: str | None = None
    limit: int | None = None
    env_exemplars: str | None = None
    """Digest of the few-shot exemplars the environment supplies itself (``Environment.exemplars()``);
    ``None`` = the harness's built-in set, whose digest is in ``agent_config``."""
    batch_size: int = 8
    """Recorded, not hashed: transport options do not change identity (cf. inspect's task_identifier)."""
    env_options: dict[str, Any] = Field(default_factory=dict)
    """The environment's behaviour options that differ from their defaults
    (:meth:`harness.environment.Environment.identity_options`): hashed."""
    env_settings: dict[str, Any] = Field(default_factory=dict)
    """Every behaviour option's value in force, defaults included: recorded, not hashed."""

    def identity(self) -> dict[str, Any]:
        ident = {
            "agent": self.agent,
            "agent_config": self.agent_config,
            "benchmark": self.benchmark,
            "benchmark_version": self.benchmark_version,
            "split": self.split,
            "seed": self.seed,
            "data_checksum": self.data_checksum,
        }
        if self.env_exemplars is not None:
            ident["env_exemplars"] = self.env_exemplars
        if self.env_options:  # absent when all defaults: runs made before the field hash as before
            ident["env_options"] = self.env_options
        return ident


class RunResult(BaseModel):
    """``results.json``: aggregates over the samples of one run."""

    schema_version: str = SCHEMA_VERSION
    agent: str
    benchmark: str
    benchmark_version: str
    split: str
    n: int
    n_original: int
    """Tasks the run was asked for (after ``--limit``); ``n`` counts finished samples."""
    main_metric: str
    metrics: dict[str, NanFloat]
    stderr: dict[str, NanFloat]
    ci95: dict[str, tuple[NanFloat, NanFloat]]
    status_counts: dict[str, int]
    versions: dict[str, str]
    config_hash: str
    data_checksum: str | None = None
    command: str | None = None
    seconds: float = 0.0
    notes: list[str] = Field(default_factory=list)
    """Protocol remarks an environment wants printed beside its numbers (e.g. train/test overlap)."""
    sample_commits: dict[str, int] = Field(default_factory=dict)
    """Samples per harness commit that produced them (``unrecorded``: written before schema 1.1);
    ``versions`` holds the commit of the session that last extended the run."""
    packages: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    """Installed distribution and version providing the ``benchmark`` and the ``agent`` (e.g.
    ``{"benchmark": {"distribution": "my-bench", "version": "0.2.0"}, ...}``); empty before schema 1.2."""
    numerics: dict[str, Any] = Field(default_factory=dict)
    """Dtype requested and used per role, CPU kernels (``cpu_capability``, ``bf16_native``) and torch
    threads of the session that last extended the run (:mod:`harness.numerics`); not identity."""
