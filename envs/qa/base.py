"""Shared machinery of the complex-QA environments (HotpotQA, StrategyQA).

Environment options (``env:`` section of ``harness eval --config``):

- ``reader``: model id or path of the QA reader (default: the harness default model);
- ``reader_backend``: backend name for :func:`agents.backends.load_backend` (default ``hf``);
- ``reader_chat``: ``auto`` (the model's chat template) | ``lumos`` | ``raw``; ``reader_prefill``:
  start the answer with ``Answer:`` (default true; small models otherwise rarely keep the format);
- ``reader_max_tokens``: generation cap per reader call (default 100, as Lumos' gpt-3.5 calls);
- ``reader_options``: extra keyword arguments for the backend;
- ``knowledge``: knowledge source (:func:`envs.qa.knowledge.load_knowledge`; default the union of
  HotpotQA paragraphs and StrategyQA facts);
- ``final_answer``: ``decide`` (Lumos' ``decide_final_ans``) | ``last`` (value of the last variable);
- ``failed_trajectories``: ``wrong`` (default, the paper's protocol) | ``score``. With ``wrong`` a
  trajectory that did not end ``ok`` (``max_rounds``, ``tool_error``, ``invalid_action``,
  ``model_error``) scores 0 on the answer metrics whatever its final answer, as Lumos' evaluation
  scripts do (``eval/hotpotqa/run_eval.py`` and ``eval/strategyqa/run_eval.py``: only a trajectory
  whose planner stopped, so that ``decide_final_ans`` ran, and whose actions did not raise
  (``results`` not ``None``) is compared; ``eval/gsm/run_eval.py`` likewise for maths, which
  :class:`envs.math.base.MathEnvironment` follows) and SPEC c requires; ``score`` scores the final
  answer of every trajectory (this harness's behaviour before environment version 1.1). Diagnostics
  that are not about the answer (HotpotQA's ``retrieval_recall@5``) are computed either way.
- ``sandbox``: ``auto`` | ``bwrap`` | ``guard``: what isolates the sympy ``Calculator`` worker and
  ``Code`` runs (:mod:`envs.sandbox_bwrap`); the option holds the resolved kind afterwards.
- ``line_budget_s`` / ``max_actions``: bounds on one grounder line (:class:`envs.tool_executor.LineLimits`).

Options that differ from their defaults enter the run identity (``Environment.identity_options``).

Models load lazily: the knowledge index on the first task, MiniLM on the first
``ParagraphRetrieve``, the reader on the first ``QA``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from envs.qa.executor import FINAL_MODES, QAExecutor, execute_batch, finalize_batch
from envs.qa.knowledge import DenseReranker, default_sources, load_knowledge, minilm_path
from envs.qa.reader import Reader
from envs.qa.tools import TOOL_SPECS, QAToolbox
from envs.sandbox import isolation_note, resolve_isolation
from envs.tool_executor import LINE_OPTIONS, line_limits
from harness.data import checksum_files
from harness.environment import Environment, Executor
from harness.options import EnvOption
from harness.records import ActionResult, SampleStatus, Task, ToolSpec, Trajectory

log = logging.getLogger(__name__)

FAILED_POLICIES = ("wrong", "score")
_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _as_bool(value: Any) -> bool:
    return _BOOL.get(str(value).lower(), bool(value)) if isinstance(value, str) else bool(value)


class SympyCalculator:
    """The maths ``Calculator`` (sympy, in a sandboxed worker process so that a runaway formula
    is cut off) as ``formula -> str``; raises when the formula is not plain arithmetic/logic
    (free symbols, parse errors), which sends the QA executor to Lumos' LLM calculator."""

    def __init__(self, isolation: str | None = None) -> None:
        self._worker: Any = None
        self.isolation = isolation

    def __call__(self, formula: str) -> str:
        from envs.sandbox import SandboxWorker

        if self._worker is None:
            self._worker = SandboxWorker("envs.math.tools:handle", isolation=self.isolation)
        reply = self._worker.call({"op": "Calculator", "arg": formula, "vars": {}})
        if "error" in reply or not reply.get("values"):
            raise ValueError(reply.get("error") or "no value")
        value = reply["values"][0]
        if "Symbol(" in str(value.get("exact", "")):
            raise ValueError(f"not arithmetic: {value.get('text')}")
        return str(value["text"])

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _default_code(reader: Reader, isolation: str | None = None) -> Any:
    """The shared maths ``Code`` tool, writing code with the reader's model on first use."""
    from envs.math.code import make_code_tool

    return make_code_tool(lambda: reader.backend, isolation=isolation)


class QAEnvironment(Environment):
    """Base class: tools, executor, reader and knowledge shared by the QA benchmarks."""

    domain = "qa"
    yes_no: ClassVar[bool] = False
    """StrategyQA: the final question gets " Must answer yes/no."."""
    options_spec: ClassVar[dict[str, EnvOption] | None] = {
        "reader": EnvOption(str, "QA reader model id or path"),
        "reader_backend": EnvOption(str, "backend of the reader", default="hf"),
        "reader_chat": EnvOption(str, "auto | lumos | raw", default="auto"),
        "reader_prefill": EnvOption((bool, str), "start answers with 'Answer:'", default=True),
        "reader_max_tokens": EnvOption(int, "generation cap per reader call", default=100),
        "reader_options": EnvOption(dict, "extra backend keyword arguments", default={}),
        "knowledge": EnvOption(str, "knowledge source", default="default"),
        "final_answer": EnvOption(str, "how the prediction is taken", choices=tuple(FINAL_MODES), default="decide"),
        "failed_trajectories": EnvOption(str, "wrong (the paper's protocol) | score", choices=FAILED_POLICIES,
                                         default="wrong"),
        "sandbox": EnvOption(str, "what isolates model-written code (holds the kind that ran)",
                             choices=("auto", "bwrap", "guard"), default="bwrap"),
        **LINE_OPTIONS,
    }

    def __init__(self, data_dir: str | Path | None = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        self.final_mode = str(options.get("final_answer", "decide"))
        if self.final_mode not in FINAL_MODES:
            raise ValueError(f"final_answer must be one of {FINAL_MODES}, not {self.final_mode!r}")
        self.reader_model = options.get("reader")
        self.reader_backend = str(options.get("reader_backend", "hf"))
        self.reader_chat = str(options.get("reader_chat", "auto"))
        self.reader_prefill = _as_bool(options.get("reader_prefill", True))
        self.reader_max_tokens = int(options.get("reader_max_tokens", 100))
        self.reader_options = dict(options.get("reader_options") or {})
        self.knowledge_spec = options.get("knowledge", "default")
        self.failed_trajectories = str(options.get("failed_trajectories", "wrong"))
        if self.failed_trajectories not in FAILED_POLICIES:
            raise ValueError(f"failed_trajectories must be one of {FAILED_POLICIES}, not {self.failed_trajectories!r}")
        self.sandbox = resolve_isolation(options.get("sandbox"))
        self.options["sandbox"] = self.sandbox  # the kind that runs, for the run identity
        self.limits = line_limits(options)
        self._toolbox: QAToolbox | None = None
        self._reader: Reader | None = None

    # -- tools --------------------------------------------------------------------------------------
    def tools(self) -> list[ToolSpec]:
        return list(TOOL_SPECS)

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = Reader(self._load_reader_backend, chat=self.reader_chat, prefill=self.reader_prefill,
                                  max_new_tokens=self.reader_max_tokens, description=self.reader_label())
        return self._reader

    def reader_label(self) -> str:
        return f"{self.reader_backend}:{self.reader_model or 'default model'}"

    def _load_reader_backend(self) -> Any:
        from agents.backends import load_backend
        from agents.models import resolve_model

        return load_backend(self.reader_backend, resolve_model(self.reader_model), **self.reader_options)

    @property
    def toolbox(self) -> QAToolbox:
        if self._toolbox is None:
            self._toolbox = QAToolbox(
                knowledge=load_knowledge(self.knowledge_spec, self.data_dir),
                reranker=DenseReranker(),
                reader=self.reader,
                calculator=SympyCalculator(self.sandbox),
                code=_default_code(self.reader, self.sandbox),
            )
        return self._toolbox

    def session(self, task: Task) -> Executor:
        return QAExecutor(task, self.toolbox, yes_no=self.yes_no, final_mode=self.final_mode, limits=self.limits)

    def execute_batch(self, executors: list[Executor], lines: list[str]) -> list[list[ActionResult]]:
        """``[e.execute(line) for e, line in zip(executors, lines)]`` with the reader calls of all
        tasks batched (same results; agents that advance tasks in lock-step may call this)."""
        return execute_batch(list(executors), list(lines), self.toolbox)  # type: ignore[arg-type]

    def final_answers(self, executors: list[Executor]) -> list[str | None]:
        """Final answers of many tasks with batched reader calls (agents may call this instead of
        ``executor.final_answer()`` one by one; the results are the same)."""
        return finalize_batch(list(executors), self.toolbox)  # type: ignore[arg-type]

    def self_check(self) -> list[str]:
        problems = super().self_check()
        try:
            minilm_path()
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            problems.append(str(exc))
        return problems

    def close(self) -> None:
        if self._toolbox is not None and hasattr(self._toolbox.calculator, "close"):
            self._toolbox.calculator.close()
        if self._reader is not None:
            self._reader.close()

    # -- records --------------------------------------------------------------------------------------
    def resolved_options(self) -> dict[str, Any]:
        """The options in force, as parsed (``reader_prefill: "no"`` is ``False``)."""
        parsed = {"final_answer": self.final_mode, "reader": self.reader_model, "reader_backend": self.reader_backend,
                  "reader_chat": self.reader_chat, "reader_prefill": self.reader_prefill,
                  "reader_max_tokens": self.reader_max_tokens, "reader_options": self.reader_options,
                  "knowledge": self.knowledge_spec, "line_budget_s": self.limits.budget_s,
                  "max_actions": self.limits.max_actions}
        return super().resolved_options() | parsed

    def settings(self) -> dict[str, Any]:
        """What changes tool outputs besides the data, folded into :meth:`data_checksum` since the
        first QA runs (kept so that their identities stay valid; the options also enter the identity
        through :meth:`identity_options`, as every environment's do)."""
        return {
            "knowledge": str(self.knowledge_spec),
            "reader": self.reader_label(),
            "reader_chat": self.reader_chat,
            "reader_prefill": self.reader_prefill,
            "reader_max_tokens": self.reader_max_tokens,
            "reader_options": self.reader_options,
            "final_answer": self.final_mode,
        } | ({} if self.failed_trajectories == "wrong" else {"failed_trajectories": self.failed_trajectories})
        # the default policy adds no key, so runs made before the option existed keep their checksum

    def split_files(self, split: str) -> list[Path]:
        raise NotImplementedError

    def data_checksum(self, split: str) -> str | None:
        """Checksum of the split's files, the knowledge corpus files and :meth:`settings` (see there)."""
        try:
            files = self.split_files(split)
            kb = default_sources(self.data_dir) if self.knowledge_spec in (None, "", "default") else []
            base = checksum_files([p for p in files + kb if p.exists()])
        except (OSError, NotImplementedError):
            return None
        blob = json.dumps(self.settings(), sort_keys=True, default=str)
        return hashlib.sha256(f"{base}|{blob}".encode()).hexdigest()[:16]

    def common_notes(self) -> list[str]:
        corpus = "the union of the HotpotQA distractor paragraphs and StrategyQA facts" \
            if self.knowledge_spec in (None, "", "default") else f"knowledge source '{self.knowledge_spec}'"
        prefill = "answer prefilled with 'Answer:'" if self.reader_prefill else "no prefill"
        return [
            (f"Offline tools (not Lumos'): KnowledgeQuery = bm25s over {corpus} instead of live Wikipedia; "
            "ParagraphRetrieve = all-MiniLM-L6-v2 re-ranking instead of the DPR reader; no Google fallback."),
            (f"QA reader = {self.reader_label()} (Lumos used gpt-3.5-turbo) with Lumos' prompts and 'No answer' "
            f"fallbacks; chat format {self.reader_chat}, {prefill}."),
            ("Calculator = sympy first (Lumos: an LLM call), falling back to Lumos' LLM calculator when the "
            "formula is not arithmetic; Code = LLM-written function run in a sandbox (not implemented in Lumos)."),
            f"Final answer step: {self.final_mode} (run for every trajectory).",
            ("Failed trajectories (max_rounds, tool_error, invalid_action, model_error) count as wrong, as Lumos' "
             "evaluation scripts (env option failed_trajectories: wrong)" if self.failed_trajectories == "wrong" else
             "failed_trajectories: score -- trajectories ending in max_rounds/tool_error/invalid_action are scored on "
             "their final answer (NOT the paper's protocol, where they count as wrong)"),
            isolation_note(self.sandbox),
        ]

    def scored_answer(self, trajectory: Trajectory) -> str | None:
        """The answer the metrics see: ``None`` (wrong) for a failed trajectory under the default
        ``failed_trajectories: wrong``, else the trajectory's final answer."""
        if self.failed_trajectories == "wrong" and trajectory.status != SampleStatus.OK:
            return None
        return trajectory.final_answer

    @staticmethod
    def kq_titles(trajectory: Trajectory) -> set[str]:
        """Titles returned by every successful KnowledgeQuery of a trajectory."""
        import ast

        titles: set[str] = set()
        for turn in trajectory.turns:
            for res in turn.results:
                if res.tool != "KnowledgeQuery" or not res.ok or not res.result:
                    continue
                try:
                    entries = ast.literal_eval(res.result)
                except (ValueError, SyntaxError):
                    entries = [res.result]
                for e in entries if isinstance(entries, list) else [entries]:
                    if "***" in str(e):
                        titles.add(str(e).split("***", 1)[0].strip())
        return titles
