"""Per-task executor for the complex-QA action space, and Lumos' final-answer step.

Parsing, the variable store and error handling come from :mod:`envs.actions`; this module binds
the five QA tools to it. Variables keep Python values (``KnowledgeQuery`` stores a list, as in
Lumos), so ``ParagraphRetrieve(R1, ...)`` and ``QA([R2, R5], ...)`` read the stored objects, while a
variable used inside free text (a query, a question, a formula) reads as its answer
(:func:`envs.qa.tools.render_value`).

Final answer (``decide_final_ans``): QA over every ``"Question: ..; Answer: .."`` result, asked the
original question (StrategyQA appends " Must answer yes/no."). It runs for every trajectory, also
when no action succeeded (then the reader answers closed-book through the "No answer" fallback).
Mode ``last`` instead reproduces Lumos' one-pass StrategyQA rule: the value of the highest-numbered
``R`` (or ``Output``), with its QA question re-asked with " Must answer yes/no.".
"""

from __future__ import annotations

import logging
from typing import Any

from envs.actions import (
    INVALID,
    VAR_RE,
    InvalidAction,
    ParsedAction,
    VariableStore,
    parse_action,
    parse_fields,
    split_actions,
    substitute,
    unquote,
)
from envs.tool_executor import LineLimits, Tool, ToolExecutor, over_limit, rest_of_line
from envs.qa.metrics import answer_text
from envs.qa.reader import YES_NO_SUFFIX, QARequest
from envs.qa.tools import QAToolbox, context_text, is_qa_result, llm_calculator_request, render_value
from harness.records import ActionResult, Task

log = logging.getLogger(__name__)

FINAL_MODES = ("decide", "last")
_UNSET: Any = object()


class _Deferred(Exception):
    """A reader call postponed by :func:`execute_batch` (never escapes this module)."""


def _text(arg: str, store: VariableStore, render: Any = None) -> str:
    return unquote(substitute(arg, store, render or (lambda _n, v: render_value(v))).text).strip()


class QAExecutor(ToolExecutor):
    """Variable store + QA tools for one task; ``final_answer`` runs the final-answer step."""

    def __init__(self, task: Task, toolbox: QAToolbox, *, yes_no: bool = False, final_mode: str = "decide",
                 limits: LineLimits | None = None):
        if final_mode not in FINAL_MODES:
            raise ValueError(f"final answer mode must be one of {FINAL_MODES}, not {final_mode!r}")
        super().__init__(
            [
                Tool("KnowledgeQuery", self._knowledge_query),
                Tool("ParagraphRetrieve", self._paragraph_retrieve),
                Tool("QA", self._qa),
                Tool("Calculator", self._calculator),
                Tool("Code", self._code),
            ],
            limits=limits,
        )
        self.task = task
        self.toolbox = toolbox
        self.yes_no = yes_no
        self.final_mode = final_mode
        self._requests: dict[str, QARequest] = {}
        """QA request behind each QA-produced variable, for mode ``last``."""
        self._answers: dict[QARequest, str] = {}
        """Reader answers fetched ahead by :func:`execute_batch`."""
        self._collect: list[QARequest] | None = None
        self._calculated: dict[str, str | None] = {}
        """sympy results of :func:`execute_batch`'s collecting pass, reused by its second pass (a
        formula that fails or times out in sympy must not be evaluated twice)."""
        self._final_result: str | None = _UNSET
        self.final_result_raw: str | None = None
        """The full ``"Question: ..; Answer: .."`` string of the final step, once computed."""

    def execute_one(self, p: ParsedAction) -> Any:
        for name in p.outputs:  # a reassigned variable forgets its old QA request
            self._requests.pop(name, None)
        return super().execute_one(p)

    # -- tools ------------------------------------------------------------------------------------
    def _knowledge_query(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        return [self.toolbox.knowledge_query(_text(p.args, store))]

    def _paragraph_retrieve(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        args = parse_fields(p.args, ["Query"])
        if not args.positional:
            raise InvalidAction("ParagraphRetrieve needs a context, e.g. ParagraphRetrieve(R1, Query: ...)")
        ctx_arg = args.positional[0].strip()
        if ctx_arg.startswith("[") and ctx_arg.endswith("]") and VAR_RE.fullmatch(ctx_arg[1:-1].strip()):
            ctx_arg = ctx_arg[1:-1].strip()  # ParagraphRetrieve([R1], ...) as QA writes its context
        context = store[ctx_arg] if VAR_RE.fullmatch(ctx_arg) else _text(ctx_arg, store, lambda _n, v: str(v))
        query = args.fields.get("Query")
        if query is None and len(args.positional) > 1:
            query = ", ".join(args.positional[1:])
        if not query:
            raise InvalidAction("ParagraphRetrieve needs a query, e.g. ParagraphRetrieve(R1, Query: ...)")
        return [self.toolbox.paragraph_retrieve(context, _text(query, store))]

    def _qa_request(self, p: ParsedAction, store: VariableStore) -> QARequest:
        args = parse_fields(p.args, ["Question", "Query"])
        question = args.fields.get("Question") or args.fields.get("Query")
        positional = list(args.positional)
        if question is None and len(positional) > 1:
            question = positional.pop()
        if not question:
            raise InvalidAction("QA needs a question, e.g. QA([R2], Question: ...)")
        parts = []
        for item in positional:
            item = item.strip()
            inner = item[1:-1] if item.startswith("[") and item.endswith("]") else item
            for ref in (x.strip() for x in inner.split(",")):
                if not ref:
                    continue
                parts.append(context_text(store[ref]) if VAR_RE.fullmatch(ref) else _text(ref, store))
        return QARequest("\n".join(parts).strip(), _text(question, store))

    def _ask(self, request: QARequest) -> str:
        """One reader call, or its pre-fetched answer; in collect mode, record it and postpone."""
        if request in self._answers:
            return self._answers.pop(request)
        if self._collect is not None:
            self._collect.append(request)
            raise _Deferred()
        return self.toolbox.qa_batch([request])[0]

    def _qa(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        request = self._qa_request(p, store)
        result = self._ask(request)
        self._requests[p.outputs[0]] = request
        return [result]

    def _calculator(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        formula = _text(p.args, store)
        # Lumos' LLM path reads each variable as its full value followed by a period.
        context = _text(p.args, store, lambda _n, v: context_text(v) + ".")
        if formula in self._calculated:
            result = self._calculated.pop(formula)
        else:
            result = self.toolbox.calculate(formula)
            if self._collect is not None:
                self._calculated[formula] = result
        if result is None:  # not arithmetic: Lumos' LLM calculator over the values
            request = llm_calculator_request(context, self.task.question)
            result = self._ask(request)
            self._requests[p.outputs[0]] = request
        return [result]

    def _code(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        return [self.toolbox.run_code(_text(p.args, store))]

    # -- final answer -----------------------------------------------------------------------------
    @property
    def question(self) -> str:
        return self.task.question.strip() + (YES_NO_SUFFIX if self.yes_no else "")

    def final_request(self) -> QARequest | None:
        """The reader request of the final step, or ``None`` when no model call is needed."""
        if self.final_mode == "decide":
            context = "".join(f"{v}; " for _, v in self.store.items() if is_qa_result(v)).strip()
            return QARequest(context, self.question)
        name = "Output" if "Output" in self.store else self.store.highest()
        request = self._requests.get(name) if name else None
        if request is None and name == "Output":  # "Output = R9" copies R9's value
            value = self.store["Output"]
            same = [n for n, v in self.store.items() if v is value and n in self._requests]
            request = self._requests[same[0]] if same else None
        if request is None or not self.yes_no:
            return None
        return QARequest(request.context, request.question + YES_NO_SUFFIX)

    def final_ready(self) -> bool:
        return self._final_result is not _UNSET

    def set_final_result(self, result: str | None) -> None:
        self._final_result = result
        self.final_result_raw = result

    def final_answer(self) -> str | None:
        if self._final_result is _UNSET:
            request = self.final_request()
            if request is not None:
                self.set_final_result(self.toolbox.qa_batch([request])[0])
            else:
                value = self.store.final(prefer_output=True)
                if value is not None and not is_qa_result(value):
                    value = render_value(value)
                self.set_final_result(value)
        return answer_text(self._final_result)


def finalize_batch(executors: list[QAExecutor], toolbox: QAToolbox) -> list[str | None]:
    """Final answers of many executors with one batched reader call (per fallback stage)."""
    pending = [(e, e.final_request()) for e in executors if not e.final_ready()]
    asks = [(e, r) for e, r in pending if r is not None]
    if asks:
        for (e, _), result in zip(asks, toolbox.qa_batch([r for _, r in asks])):
            e.set_final_result(result)
    return [e.final_answer() for e in executors]


def execute_batch(executors: list[QAExecutor], lines: list[str], toolbox: QAToolbox) -> list[list[ActionResult]]:
    """``executor.execute(line)`` for many tasks at once, action position by action position, with
    the reader calls of each position in one batch. Results equal the one-by-one execution."""
    pieces: list[list[str]] = []
    parsed: list[list[ParsedAction]] = []
    results: list[list[ActionResult]] = [[] for _ in executors]
    for i, line in enumerate(lines):
        try:
            pieces.append(split_actions(line if isinstance(line, str) else str(line)))
            parsed.append([parse_action(a) for a in pieces[-1][: executors[i].limits.max_actions]])
        except Exception as exc:  # noqa: BLE001 - as ToolExecutor.execute: never take a run down
            pieces.append([])
            parsed.append([])
            results[i].append(ActionResult(action=str(line)[:1000], error=f"cannot parse actions: {exc}",
                                           error_kind=INVALID))
            continue
        if not parsed[-1]:
            results[i].append(ActionResult(action=str(line)[:1000], error="no action found", error_kind=INVALID))
    spent = [0.0] * len(executors)
    """Seconds each task's own actions took (the line budget; shared reader batches not counted)."""
    stopped = [False] * len(executors)
    for j in range(max((min(len(p), e.limits.max_actions + 1) for p, e in zip(pieces, executors)), default=0)):
        waiting: list[tuple[int, list[QARequest]]] = []
        for i, (ex, acts) in enumerate(zip(executors, parsed)):
            if stopped[i] or j >= len(pieces[i]):
                continue
            reason = over_limit(ex.limits, j, spent[i])
            if reason:
                results[i].append(rest_of_line(pieces[i][j:], reason))
                stopped[i] = True
                continue
            ex._collect = []
            t0 = ex.clock()
            res = ex.execute_one(acts[j])
            spent[i] += ex.clock() - t0
            asked, ex._collect = ex._collect, None
            if asked:
                waiting.append((i, asked))  # res is the discarded _Deferred failure
            else:
                results[i].append(res)
                ex._calculated.clear()
        if not waiting:
            continue
        requests = [r for _, asked in waiting for r in asked]
        try:
            answers = toolbox.qa_batch(requests)
        except Exception:
            log.warning("batched reader call failed; executing %d actions one by one", len(waiting), exc_info=True)
            answers = []
        it = iter(answers)
        for i, asked in waiting:
            for r in asked:
                answer = next(it, None)
                if answer is not None:
                    executors[i]._answers[r] = answer
            t0 = executors[i].clock()
            results[i].append(executors[i].execute_one(parsed[i][j]))
            spent[i] += executors[i].clock() - t0
            executors[i]._answers.clear()
            executors[i]._calculated.clear()
    return results
