"""The ``agenttuning`` producer: one model trained by ``harness train agenttuning`` on the same gold
trajectories in a single-agent ReAct format (Thought / Action / Observation; see
:mod:`training.agenttuning`). It plans and grounds in the same turn; its results are labelled
``format: react``.

Agent options: ``run`` (default ``$HARNESS_AGENTTUNING_RUN``, else
``$HARNESS_TRAIN_DIR/agenttuning``, else ``runs/train/agenttuning``, else the shipped ``training/shipped/agenttuning``), ``max_rounds`` (default: the
environment's budget), ``max_new_tokens``, ``backend_options``. ``--planner`` replaces the checkpoint.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from harness.agent import Agent, AgentOptions, AgentProducer, trajectory_status
from harness.environment import Environment
from harness.records import ActionResult, SampleStatus, Task, Trajectory, Turn

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"run": None, "max_rounds": None, "max_new_tokens": 256, "backend_options": {}}


class ReActAgent(Agent):
    """Advances a batch of tasks in lock-step: one batched generation per round."""

    def __init__(self, backend: Any, max_rounds: int | None, max_new_tokens: int, extra_config: dict[str, Any]):
        self.backend = backend
        self.max_rounds = max_rounds
        self.max_new_tokens = max_new_tokens
        self.extra_config = extra_config

    def config(self) -> dict[str, Any]:
        info = self.backend.info()
        return {"producer": "agenttuning", "format": "react", "chat_format": "lumos-tags",
                "agent": {"backend": info.name, "model": info.model, **info.details},
                "max_rounds": self.max_rounds or "env-default", "max_new_tokens": self.max_new_tokens,
                **self.extra_config}

    def close(self) -> None:
        self.backend.close()

    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        from agents import prompts as P
        from agents.backends import GenerationParams
        from training import agenttuning as R

        header = P.render_header(env.tools(), P.style_for(env))
        rounds = (self.max_rounds or getattr(env, "max_rounds", 10)) + 1  # + the Finish turn
        params = GenerationParams(temperature=0.0, max_new_tokens=self.max_new_tokens,
                                  stop=("\nObservation", "\nThought", "<|user|>"))
        trajs = [Trajectory(extra={"format": "react"}) for _ in tasks]
        convs = [[P.user(R.first_user(header, t.question))] for t in tasks]
        executors: list[Any] = []
        active = []
        for i, t in enumerate(tasks):
            try:
                executors.append(env.session(t))
                active.append(i)
            except Exception as exc:  # an environment that cannot start this task
                executors.append(None)
                trajs[i].status, trajs[i].error = SampleStatus.TOOL_ERROR, f"session failed: {exc}"
        finished: set[int] = set()
        try:
            for _ in range(rounds):
                if not active:
                    break
                try:
                    outs = self.backend.generate([P.serialize_lumos(convs[i]) for i in active], params)
                except Exception as exc:  # the whole batch fails: record it per task
                    for i in active:
                        trajs[i].status, trajs[i].error = SampleStatus.MODEL_ERROR, f"{type(exc).__name__}: {exc}"
                    active = []
                    break
                still = []
                for i, out in zip(active, outs):
                    text = (out[0] if out else "").strip()
                    trajs[i].model_calls += 1
                    thought, action = R.parse_turn(text)
                    convs[i].append(P.assistant(text))
                    if R.is_finish(action):
                        finished.add(i)
                        continue
                    results = self._execute(executors[i], action)
                    trajs[i].turns.append(Turn(subgoal=thought, actions=action, results=results, planner_raw=text))
                    last = results[-1]
                    if not all(r.ok for r in results):
                        finished.add(i)  # as AgentPair: an invalid action or tool error ends the task
                        continue
                    convs[i].append(P.user(R.observation(last.result)))
                    still.append(i)
                active = still
            for i, traj in enumerate(trajs):
                if traj.status != SampleStatus.OK:
                    continue
                traj.status = trajectory_status(traj)
                if traj.status == SampleStatus.OK and i not in finished:
                    traj.status = SampleStatus.MAX_ROUNDS
                    traj.error = "round budget exhausted before the agent finished"
                answer = executors[i].final_answer() if executors[i] is not None else None
                if traj.status == SampleStatus.OK:
                    traj.final_answer = answer
                else:
                    traj.extra["partial_answer"] = answer
        finally:
            for ex in executors:
                if ex is not None:
                    ex.close()
        return trajs

    @staticmethod
    def _execute(executor: Any, action: str) -> list[ActionResult]:
        if not action:
            return [ActionResult(action="", error="no Action line in the agent's output", error_kind="invalid_action")]
        try:
            results = executor.execute(action)
        except Exception as exc:  # executors should not raise; if one does it is a tool error
            return [ActionResult(action=action, error=f"{type(exc).__name__}: {exc}", error_kind="tool_error")]
        return results or [ActionResult(action=action, error="no action to execute", error_kind="invalid_action")]


class AgentTuningProducer(AgentProducer):
    name: ClassVar[str] = "agenttuning"
    description: ClassVar[str] = ("One model trained on the same data in a single-agent ReAct format "
                                  "(`harness train agenttuning`).")

    def build(self, options: AgentOptions) -> Agent:
        from agents.backends import load_backend
        from agents.producers.base import merged_options
        from training.modeling import is_adapter
        from training.trained import checkpoint_digest, env_run_override, locate_run, output, run_label

        opts = merged_options(options, DEFAULTS)
        root, manifest = locate_run("agenttuning", opts["run"] or env_run_override("agenttuning"))
        ckpt = options.planner or str(output(root, manifest, "agent"))
        kwargs = dict(opts["backend_options"])
        if options.backend in ("hf", "vllm"):
            kwargs.setdefault("seed", options.seed)
        if is_adapter(ckpt):
            backend = load_backend(options.backend, str(output(root, manifest, "base")), adapter=ckpt,
                                   label="agenttuning:agent", **kwargs)
        else:
            backend = load_backend(options.backend, ckpt, label="agenttuning:agent", **kwargs)
        extra = {"train_run": run_label(root), "train_config_hash": manifest.get("config_hash"),
                 "checkpoint": checkpoint_digest(ckpt)}
        return ReActAgent(backend, opts["max_rounds"], int(opts["max_new_tokens"]), extra)
