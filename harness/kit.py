"""The plug-in kit: the stable, documented surface a new benchmark or agent is built from.

One import, ``from harness import kit``; everything a plug-in needs is an attribute of this module,
so plug-in authors never import ``envs.*`` or ``agents.*`` internals (those may move; these names
will not). Tutorial: ``docs/plugins.md``. Importing the kit is cheap (no torch, no models): the
tools that need a model (the QA reader, the MiniLM ranker, a ``Code`` model) load it on first use.

Groups:

* **contract** -- :class:`Environment`, :class:`Executor`, :class:`Agent`, :class:`AgentProducer`,
  the records (:class:`Task`, :class:`Trajectory`, ...), :class:`DataFile`, :class:`Exemplar`;
* **maths** -- :class:`MathEnvironment` (Lumos' maths tools on sympy: Calculator, SetEquation,
  SolveEquation, SolveInequality, Define, Count, plus the sandboxed ``Code``), ``MATH_TOOLS``;
* **complex QA** -- :class:`QAEnvironment` (KnowledgeQuery / ParagraphRetrieve / QA / Calculator /
  Code over an offline knowledge base and a local reader), :func:`jsonl_knowledge`,
  :class:`Reader`, ``QA_TOOLS``;
* **web** -- :func:`make_ranker` / :func:`rank` (MiniLM + BM25 element ranker), ``ToolExecutor`` and
  :class:`Tool` (the generic Lumos action executor any new tool set plugs into);
* **gold trajectories** -- :func:`equation_trajectory` (an arithmetic expression -> one Calculator
  subgoal per operator), :func:`gsm8k_trajectory`, :func:`gold_fields`;
* **answer extraction and metrics** -- :func:`em_numeric`, :func:`em_strict`, :func:`parse_number`,
  :func:`exact_match`, :func:`f1_score`, :func:`normalize_answer`, :func:`yes_no_lenient`, ...;
* **data** -- :func:`require_file` (a file inside the plug-in package, ``DataFile(package=...)``, or
  under the data dir), :func:`read_jsonl`, :func:`checksum_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# -- contract -------------------------------------------------------------------------------------
from harness.agent import Agent, AgentOptions, AgentProducer, trajectory_status
from harness.data import DataFile, DataFormatError, DataMissingError, checksum_files, read_jsonl, require
from harness.environment import Environment, Executor
from harness.exemplars import Exemplar, exemplar_from_dict, read_exemplars
from harness.options import EnvOption
from harness.plugins import ContractError
from harness.records import ActionResult, SampleStatus, Task, ToolSpec, Trajectory, Turn

# -- tool sets ------------------------------------------------------------------------------------
from envs.actions import InvalidAction, ParsedAction, ToolError, VariableStore, parse_actions, parse_fields
from envs.tool_executor import Tool, ToolExecutor
from envs.math.base import MathEnvironment
from envs.math.tools import TOOL_SPECS as MATH_TOOLS
from envs.qa.base import QAEnvironment
from envs.qa.knowledge import KnowledgeSource, Page, jsonl_knowledge
from envs.qa.reader import QARequest, Reader
from envs.qa.tools import TOOL_SPECS as QA_TOOLS
from envs.web.ranking import HybridRanker, Ranker, make_ranker, rank

# -- gold trajectories ----------------------------------------------------------------------------
from envs.math.gold import GoldTrajectory, gsm8k_trajectory
from envs.math.gold import svamp_trajectory as equation_trajectory

# -- answer extraction and metrics ---------------------------------------------------------------
from envs.math.scoring import canonical, em_numeric, em_strict, numbers_equal, parse_number
from envs.qa.metrics import answer_text, exact_match, f1_score, normalize_answer, yes_no_lenient, yes_no_strict
from envs.web.metrics import op_f1


def gold_fields(trajectory: GoldTrajectory | None) -> dict[str, Any]:
    """``Task(**gold_fields(t))`` keywords: ``gold_plan`` / ``gold_actions`` (``None`` when absent),
    what the ``oracle`` agent replays and ``harness doctor NAME`` checks."""
    if trajectory is None:
        return {"gold_plan": None, "gold_actions": None}
    return {"gold_plan": list(trajectory.subgoals), "gold_actions": list(trajectory.actions)}


def require_file(env: Environment, file: DataFile) -> Path:
    """The path of ``file`` for ``env`` (inside its package when ``file.package`` is set, else under
    the data dir), or one clear :class:`DataMissingError` naming it and the fix."""
    path = env.data_path(file)
    if path.exists():
        return path
    if file.package is not None:
        raise DataMissingError(f"missing data file {path}: it should ship inside the package {file.package!r}; "
                               "reinstall the plug-in (is it listed in the package data of its pyproject.toml?)")
    return require(env.data_dir, file.path)


__all__ = [
    # contract
    "Agent", "AgentOptions", "AgentProducer", "trajectory_status", "Environment", "Executor", "ActionResult",
    "SampleStatus", "Task", "ToolSpec", "Trajectory", "Turn", "DataFile", "DataMissingError", "DataFormatError", "ContractError",
    "EnvOption",
    "Exemplar", "exemplar_from_dict", "read_exemplars",
    # tool sets
    "Tool", "ToolExecutor", "ToolError", "InvalidAction", "ParsedAction", "VariableStore", "parse_actions", "parse_fields", "MathEnvironment", "MATH_TOOLS",
    "QAEnvironment", "QA_TOOLS", "KnowledgeSource", "Page", "jsonl_knowledge", "Reader", "QARequest",
    "Ranker", "HybridRanker", "make_ranker", "rank",
    # gold trajectories
    "GoldTrajectory", "equation_trajectory", "gsm8k_trajectory", "gold_fields",
    # answer extraction and metrics
    "em_numeric", "em_strict", "parse_number", "numbers_equal", "canonical", "exact_match", "f1_score",
    "normalize_answer", "answer_text", "yes_no_lenient", "yes_no_strict", "op_f1",
    # data
    "require_file", "read_jsonl", "checksum_files",
]
