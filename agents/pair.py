"""``AgentPair``: a planner and a grounder driving a batch of tasks through an environment.

All tasks of a batch advance in lock-step, so each half-round is one batched model call: every
active task's plan step, then every grounding step, then the executions (SPEC a.5). A model
exception, an exhausted round budget or an invalid action ends that task only and is recorded in
its trajectory; ``run`` itself never raises for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from agents import prompts as P
from agents.backends.base import Backend, GenerationParams
from harness.agent import Agent, trajectory_status
from harness.environment import Environment, Executor
from harness.records import ActionResult, SampleStatus, Task, Trajectory, Turn

log = logging.getLogger(__name__)

# Lumos decoding: greedy, one line per turn (SPEC a.1). 512 new tokens in Lumos; a line rarely needs more.
LUMOS_PARAMS = GenerationParams(temperature=0.0, max_new_tokens=512, stop=("\n",))
MODES = ("iterative", "one-pass")


@dataclass
class _State:
    task: Task
    traj: Trajectory
    executor: Executor | None = None
    plan_msgs: list[P.Message] = field(default_factory=list)
    ground_msgs: list[P.Message] = field(default_factory=list)
    last_results: list[str] = field(default_factory=list)
    subgoal: str = ""
    planner_raw: str = ""
    done: bool = False
    stopped: bool = False
    model_error: bool = False
    failed: bool = False


class AgentPair(Agent):
    """Planner backend + grounder backend + prompt format + mode."""

    def __init__(
        self,
        planner: Backend,
        grounder: Backend,
        *,
        chat_format: str = "lumos",
        mode: str | None = None,
        max_rounds: int | None = None,
        planner_params: GenerationParams = LUMOS_PARAMS,
        grounder_params: GenerationParams = LUMOS_PARAMS,
        fewshot: Callable[[Environment], P.FewShot | None] | None = None,
        stop_on_error: bool = True,
        producer: str = "pair",
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        if chat_format not in P.CHAT_FORMATS:
            raise ValueError(f"chat_format must be one of {P.CHAT_FORMATS}, not {chat_format!r}")
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.planner = planner
        self.grounder = grounder
        self.chat_format = chat_format
        self.mode = mode
        self.max_rounds = max_rounds
        self.planner_params = planner_params
        self.grounder_params = grounder_params
        self.fewshot = fewshot
        self.stop_on_error = stop_on_error
        self.producer = producer
        self.extra_config = extra_config or {}

    # -- identity ------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        def backend(b: Backend) -> dict[str, Any]:
            info = b.info()
            return {"backend": info.name, "model": info.model, **info.details}

        return {
            "producer": self.producer,
            "planner": backend(self.planner),
            "grounder": backend(self.grounder),
            "chat_format": self.chat_format,
            "mode": self.mode or "env-default",
            "max_rounds": self.max_rounds or "env-default",
            "planner_params": asdict(self.planner_params),
            "grounder_params": asdict(self.grounder_params),
            "stop_on_error": self.stop_on_error,
            "prompt_format": prompt_format_digest(),
            **self.extra_config,
        }

    def close(self) -> None:
        self.planner.close()
        if self.grounder is not self.planner:
            self.grounder.close()

    # -- the loop ------------------------------------------------------------------------------
    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        mode = self.mode or getattr(env, "mode", "one-pass")
        rounds = self.max_rounds or getattr(env, "max_rounds", 10)
        style = P.style_for(env)
        header = P.render_header(env.tools(), style)
        shots = self.fewshot(env) if self.fewshot else None
        plan_prefix = shots.plan(mode, style) if shots else []
        ground_prefix = shots.ground(mode, header, style) if shots else []
        states = [self._start(task, env, mode) for task in tasks]
        try:
            if mode == "one-pass":
                self._one_pass(env, states, header, plan_prefix, ground_prefix)
            else:
                self._iterative(env, states, header, style, rounds, plan_prefix, ground_prefix)
            answers = self._final_answers(env, states)
            for s, answer in zip(states, answers):
                self._finish(s, answer)
        finally:
            for s in states:
                if s.executor is not None:
                    try:
                        s.executor.close()
                    except Exception:  # closing must not hide the results
                        log.exception("closing the executor of %s failed", s.task.id)
        return [s.traj for s in states]

    def _start(self, task: Task, env: Environment, mode: str) -> _State:
        s = _State(task=task, traj=Trajectory(extra={"mode": mode}))
        s.plan_msgs.append(P.user(P.plan_first_user(task.question)))
        try:
            s.executor = env.session(task)
        except Exception as exc:  # an environment that cannot start this task
            s.done, s.failed = True, True
            s.traj.error = f"session failed: {type(exc).__name__}: {exc}"
            s.traj.extra["session_error"] = True
        return s

    def _one_pass(self, env, states, header, plan_prefix, ground_prefix) -> None:
        active = [s for s in states if not s.done]
        outs = self._call(self.planner, "planner", active, [plan_prefix + s.plan_msgs for s in active],
                          self.planner_params)
        to_ground = []
        for s, out in zip(active, outs):
            if out is None:
                continue
            s.planner_raw, s.subgoal = out, out.strip()
            s.plan_msgs.append(P.assistant(s.subgoal))
            s.ground_msgs.append(P.user(P.ground_onepass_user(header, s.task.question, s.subgoal)))
            to_ground.append(s)
        outs = self._call(self.grounder, "grounder", to_ground, [ground_prefix + s.ground_msgs for s in to_ground],
                          self.grounder_params)
        ready = [(s, out) for s, out in zip(to_ground, outs) if out is not None]
        self._execute(env, ready)
        for s, _ in ready:
            s.done = s.stopped = True

    def _iterative(self, env, states, header, style, rounds, plan_prefix, ground_prefix) -> None:
        for _ in range(rounds):
            active = [s for s in states if not s.done]
            if not active:
                return
            outs = self._call(self.planner, "planner", active, [plan_prefix + s.plan_msgs for s in active],
                              self.planner_params)
            to_ground = []
            for s, out in zip(active, outs):
                if out is None:
                    continue
                s.plan_msgs.append(P.assistant(out.strip()))
                if P.wants_to_stop(out):
                    s.done = s.stopped = True
                    continue
                s.planner_raw, s.subgoal = out, P.clean_subgoal(out)
                if not s.ground_msgs:
                    s.ground_msgs.append(P.user(P.ground_first_user(header, s.task.question, s.subgoal)))
                else:
                    earlier = s.last_results if style.ground_with_results else None
                    s.ground_msgs.append(P.user(P.ground_next_user(s.subgoal, earlier)))
                to_ground.append(s)
            outs = self._call(self.grounder, "grounder", to_ground,
                              [ground_prefix + s.ground_msgs for s in to_ground], self.grounder_params)
            ready = [(s, out) for s, out in zip(to_ground, outs) if out is not None]
            for s, out in ready:
                s.ground_msgs.append(P.assistant(out.strip()))
            for (s, _), results in zip(ready, self._execute(env, ready)):
                last = results[-1] if results else None
                value = (last.result if last.ok else last.error) if last else ""
                s.last_results.append(value or "")
                if self.stop_on_error and any(not r.ok for r in results):
                    s.done = s.failed = True
                    continue
                k = len(s.traj.turns)
                res = P.executed_result(last.action, value) if last else ""
                s.plan_msgs.append(P.user(P.plan_feedback(k, res, s.subgoal, style)))

    def _execute(self, env: Environment, ready: list[tuple[_State, str]]) -> list[list[ActionResult]]:
        """Execute one grounder output per task with one ``env.execute_batch`` call (tools that call a
        model batch those calls); if the batch raises, each task alone, so a tool crash is one task's
        tool error. Records a Turn per task."""
        if not ready:
            return []
        lines = [out.strip() for _, out in ready]
        try:
            batch = env.execute_batch([s.executor for s, _ in ready], lines)
            if len(batch) != len(ready):
                raise RuntimeError(f"execute_batch returned {len(batch)} results for {len(ready)} tasks")
        except Exception:
            log.exception("batched execution of %d tasks failed; executing them one by one", len(ready))
            batch = []
            for (s, _), line in zip(ready, lines):
                try:
                    batch.append(s.executor.execute(line))
                except Exception as exc:  # executors should not raise; if one does, it is a tool error
                    batch.append([ActionResult(action=line, error=f"{type(exc).__name__}: {exc}",
                                               error_kind="tool_error")])
        out = []
        for (s, raw), line, results in zip(ready, lines, batch):
            results = list(results) or [ActionResult(action=line, error="no action to execute",
                                                     error_kind="invalid_action")]
            s.traj.turns.append(Turn(subgoal=s.subgoal, actions=line, results=results,
                                     planner_raw=s.planner_raw, grounder_raw=raw))
            out.append(results)
        return out

    @staticmethod
    def _final_answers(env: Environment, states: list[_State]) -> list[str | None | Exception]:
        """``env.final_answers`` over the tasks that have an executor (one batched call); an exception
        is kept per task and becomes its tool error."""
        live = [s for s in states if s.executor is not None]
        try:
            got = list(env.final_answers([s.executor for s in live]))
            if len(got) != len(live):
                raise RuntimeError(f"final_answers returned {len(got)} answers for {len(live)} tasks")
        except Exception:
            log.exception("batched final answers failed; asking each task alone")
            got = []
            for s in live:
                try:
                    got.append(s.executor.final_answer())
                except Exception as exc:  # recorded as that task's tool error
                    got.append(exc)
        by_id = {id(s): a for s, a in zip(live, got)}
        return [by_id.get(id(s)) for s in states]

    def _call(self, backend: Backend, role: str, states: list[_State], convs: list[list[P.Message]],
              params: GenerationParams) -> list[str | None]:
        """One batched call; if it fails, each prompt alone, so one bad prompt (e.g. too long) only
        fails its own task. ``None`` marks a task whose call failed (recorded as model_error)."""
        if not states:
            return []
        try:
            texts, counts = self._generate(backend, convs, params)
        except Exception as exc:
            if len(states) == 1:
                self._model_error(states[0], role, exc)
                return [None]
            log.warning("batched %s call failed (%s: %s); retrying its %d prompts one by one",
                        role, type(exc).__name__, exc, len(states))
            out: list[str | None] = []
            for s, conv in zip(states, convs):
                out.extend(self._call(backend, role, [s], [conv], params))
            return out
        for s, c in zip(states, counts):
            s.traj.model_calls += 1
            s.traj.generated_tokens += c
        return texts

    def _generate(self, backend: Backend, convs, params) -> tuple[list[str], list[int]]:
        one = GenerationParams(**{**asdict(params), "n": 1})
        if self.chat_format == "lumos":
            outs = backend.generate([P.serialize_lumos(c) for c in convs], one)
        else:
            outs = backend.chat(convs, one)
        if len(outs) != len(convs) or any(len(o) != 1 for o in outs):
            raise RuntimeError(f"backend returned {len(outs)} results for {len(convs)} prompts")
        counts = backend.last_token_counts
        tokens = [c[0] for c in counts] if counts and len(counts) == len(outs) else [0] * len(outs)
        return [o[0] for o in outs], tokens

    @staticmethod
    def _model_error(s: _State, role: str, exc: Exception) -> None:
        s.done = s.model_error = True
        s.traj.error = f"{role} call failed: {type(exc).__name__}: {exc}"

    @staticmethod
    def _finish(s: _State, answer: str | None | Exception) -> None:
        t = s.traj
        t.extra["rounds"] = len(t.turns)
        if s.model_error:
            t.status = SampleStatus.MODEL_ERROR
        elif t.extra.get("session_error"):
            t.status = SampleStatus.TOOL_ERROR
        else:
            t.status = trajectory_status(t)
            if t.status == SampleStatus.OK and not s.stopped:
                t.status = SampleStatus.MAX_ROUNDS
        if isinstance(answer, Exception):  # a broken final-answer step is the tool's failure
            t.status, t.error = SampleStatus.TOOL_ERROR, f"final_answer failed: {type(answer).__name__}: {answer}"
            answer = None
        # SPEC (c): a failed execution or an exhausted budget counts as wrong; keep what was there.
        if t.status == SampleStatus.OK:
            t.final_answer = answer
        else:
            t.extra["partial_answer"] = answer
            if t.error is None and t.status == SampleStatus.MAX_ROUNDS:
                t.error = "round budget exhausted before the planner stopped"


def prompt_format_digest() -> str:
    """Changes whenever a prompt string or style changes, so run identities follow the prompts."""
    blob = json.dumps([P.PLAN_INSTRUCTION, P.GROUND_INSTRUCTION, P.KEEP_PLANNING, P.STOP_PLANNING,
                       {k: asdict(v) for k, v in P.STYLES.items()}], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
