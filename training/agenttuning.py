"""The AgentTuning-style baseline format: one model, ReAct turns (Thought / Action / Observation).

AgentTuning (THUDM) fine-tunes a single Llama-2-chat model on ReAct-style trajectories. Here the
same gold trajectories as the Lumos data are recast so that one agent plans and grounds in the same
turn::

    user:       <instruction + available action list>  Task: <question>
    assistant:  Thought: <subgoal k>\\nAction: <actions of subgoal k>
    user:       Observation: <result of the last action>
    ...
    assistant:  Thought: I have reached the final answer.\\nAction: Finish

The chat wrapper is the same ``<|user|>`` / ``<|assistant|>`` serialisation as the Lumos models, so
the comparison isolates one agent vs. a planner + grounder pair (results are labelled
``format: react``). Pure string functions: imported by the trainer and by the ``agenttuning``
producer's inference loop.
"""

from __future__ import annotations

import re
from typing import Any

from agents import prompts as P
from training.datasets import GoldExample

REACT_INSTRUCTION = (
    "Solve the given task step by step. In each turn, write a Thought with the next subgoal and an Action "
    "with the executable actions for it (several actions are separated by \"; \"); then read the Observation. "
    "The actions must be the ones in the available action list. When the task is solved, write a Thought and "
    "the Action Finish.\n\n"
)
FINISH = "Finish"
FINAL_THOUGHT = "I have reached the final answer."
_THOUGHT_RE = re.compile(r"Thought:\s*(.*?)(?:\n|$)", re.S)
_ACTION_RE = re.compile(r"Action:\s*([^\n]*)")


def action_list(header: str) -> str:
    """The tool list part of a Lumos grounding header (everything after its instruction)."""
    return header[len(P.GROUND_INSTRUCTION):] if header.startswith(P.GROUND_INSTRUCTION) else header


def first_user(header: str, question: str) -> str:
    return REACT_INSTRUCTION + action_list(header) + "Task: " + question.strip()


def agent_turn(thought: str, action: str) -> str:
    return f"Thought: {thought.strip()}\nAction: {action.strip()}"


def observation(result: str | None, error: str | None = None) -> str:
    if error:
        return f"Observation: Error: {error}"
    return f"Observation: {'' if result is None else str(result).strip()}"


def react_messages(ex: GoldExample) -> list[dict[str, str]]:
    msgs = [P.user(first_user(ex.header, ex.question))]
    for sg, act, res in zip(ex.subgoals, ex.actions, ex.results):
        msgs.append(P.assistant(agent_turn(sg, act)))
        msgs.append(P.user(observation(res)))
    msgs.append(P.assistant(agent_turn(FINAL_THOUGHT, FINISH)))
    return msgs


def react_records(examples: list[GoldExample]) -> list[dict[str, Any]]:
    """ReAct records; examples without executed results (no observations to show) are skipped."""
    return [{"dataset": f"{ex.source}_react", "id": ex.id, "messages": react_messages(ex)}
            for ex in examples if len(ex.results) == len(ex.subgoals)]


def parse_turn(text: str) -> tuple[str, str]:
    """``(thought, action)`` of one generated turn; missing parts are ``""``."""
    t = _THOUGHT_RE.search(text)
    a = _ACTION_RE.search(text)
    return (t.group(1).strip() if t else ""), (a.group(1).strip() if a else "")


def is_finish(action: str) -> bool:
    return action.strip().rstrip(".").strip() in (FINISH, f"{FINISH}()")
