"""Agent Lumos / MOAT prompt formats (SPEC a.1, a.3-a.5), kept byte-exact in one module.

Conversations are built as message lists (``{"role", "content"}``) and serialised by a chat format:
``lumos`` reproduces Lumos' inference strings (``<|user|>\\n...\\n<|assistant|>\\n``, no EOS between
turns, earlier assistant turns followed by a blank line); ``native`` hands the messages to the
model's own chat template (:meth:`Backend.chat`). The grounding header is rendered from the
environment's ``tools()`` with the per-domain list quirks of the original prompts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.exemplars import Exemplar  # noqa: F401 (re-exported: the few-shot API)

PLAN_INSTRUCTION = "Please provide a reasonable subgoal-based plan to solve the given task.\n"
GROUND_INSTRUCTION = (
    "Please ground the given subgoal to corresponding executable actions for solving the given task. "
    "The grounded actions must be the one in available action list.\n\n"
)
KEEP_PLANNING = "No, I will keep planning."
STOP_PLANNING = "Yes, I will stop planning"
STOP_PLANNING_TURN = "Yes, I will stop planning."
CHAT_FORMATS = ("lumos", "native")

Message = dict[str, str]


# -- styles ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptStyle:
    """What differs between the domains' original prompts."""

    list_join: str = "oxford"
    """``oxford`` ('a', 'b', and 'c'), ``comma`` ('a', 'b', 'c'), ``and`` ('a', 'b' and 'c')."""
    description_prefix: tuple[str, ...] = ()
    """Tools whose description is repeated before the list's own (Lumos QA lists Calculator twice)."""
    plan_feedback: str = "result"
    """``result``: "The executed result for Subgoal k is R. Should we stop planning?";
    ``done``: "We have already <subgoal>. Should we stop planning?" (Mind2Web);
    ``result_only``: "The executed result for Subgoal k is R" (WebShop)."""
    ground_with_results: bool = False
    """Complex QA: later grounding turns carry the earlier subgoals' answers."""


STYLES: dict[str, PromptStyle] = {
    "math": PromptStyle(),
    "qa": PromptStyle(description_prefix=("Calculator",), ground_with_results=True),
    "web": PromptStyle(list_join="comma", plan_feedback="done"),
    "mind2web": PromptStyle(list_join="comma", plan_feedback="done"),
    "webshop": PromptStyle(list_join="and", plan_feedback="result_only"),
}


def style_for(env: Any) -> PromptStyle:
    """An environment's ``prompt_style`` attribute (a :class:`PromptStyle` or a key of ``STYLES``),
    else its name, else its domain, else the maths style."""
    own = getattr(env, "prompt_style", None)
    if isinstance(own, PromptStyle):
        return own
    for key in (own, getattr(env, "name", None), getattr(env, "domain", None)):
        if key in STYLES:
            return STYLES[key]
    return STYLES["math"]


# -- grounding header --------------------------------------------------------------------------
def _join_names(names: list[str], how: str) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) < 2 or how == "comma":
        return ", ".join(quoted)
    if how == "oxford":
        return ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
    if how == "and":
        return ", ".join(quoted[:-1]) + " and " + quoted[-1]
    raise ValueError(f"unknown list_join {how!r}")


def render_header(tools: list[Any], style: PromptStyle = STYLES["math"]) -> str:
    """``H``: the grounding instruction and action list, ending before the ``Task:`` line."""
    by_name = {t.name: t for t in tools}
    described = [by_name[n] for n in style.description_prefix if n in by_name] + list(tools)
    # descriptions are clauses joined by "; " and closed by one "."; tolerate tools that end theirs with "."
    descriptions = "; ".join(f"{t.signature}: {t.description.strip().rstrip('.')}" for t in described)
    return (
        GROUND_INSTRUCTION
        + f"The available action list is {_join_names([t.name for t in tools], style.list_join)}.\n"
        + f"{descriptions}.\n\n"
    )


# -- turn contents -----------------------------------------------------------------------------
def plan_first_user(question: str) -> str:
    return PLAN_INSTRUCTION + "Task: " + question.strip() + "; Initial Environment Description: None."


def ground_first_user(header: str, question: str, subgoal: str) -> str:
    return header + "Task: " + question.strip() + " \nSubgoal to be grounded: " + subgoal


def ground_next_user(subgoal: str, earlier_results: list[str] | None = None) -> str:
    """Later iterative grounding turn; ``earlier_results`` (complex QA) are the last results of the
    earlier subgoals, of which the text after ``Answer: `` is quoted."""
    text = "Subgoal to be grounded: " + subgoal
    if earlier_results is not None:
        text += " The grounding could be based on the following results:"
        for j, res in enumerate(earlier_results, 1):
            text += f" The execution result for Subgoal {j} is {answer_text(res)}"
    return text


def ground_onepass_user(header: str, question: str, plan_line: str) -> str:
    return header + "Task: " + question.strip() + " \nSubgoals to be grounded: " + plan_line


def answer_text(result: str) -> str:
    """QA results read ``Question: q; Answer: X``; the feedback quotes X."""
    return result.split("Answer: ", 1)[1].strip() if "Answer: " in result else result.strip()


def executed_result(action: str, result: str | None) -> str:
    """``res`` of SPEC a.5: the text after the last ``=`` of the record ``"{action} = {result}"``."""
    return f"{action} = {'' if result is None else result}".split("=")[-1].strip()


def _strip_subgoal_prefix(subgoal: str) -> str:
    return re.sub(r"^\s*Subgoal \d+:\s*", "", subgoal)


def plan_feedback(k: int, result: str, subgoal: str, style: PromptStyle = STYLES["math"]) -> str:
    """The user turn after subgoal ``k`` was executed."""
    if style.plan_feedback == "done":
        text = _strip_subgoal_prefix(subgoal).strip().rstrip(".")
        text = text[:1].lower() + text[1:]
        return f"We have already {text}. Should we stop planning?"
    if style.plan_feedback == "result_only":
        return f"The executed result for Subgoal {k} is {result}"
    return f"The executed result for Subgoal {k} is {result}. Should we stop planning?"


def clean_subgoal(planner_output: str) -> str:
    """A planner turn without ``No, I will keep planning.`` (Harness always strips it, SPEC a.5)."""
    text = planner_output.strip()
    if text.startswith(KEEP_PLANNING):
        text = text[len(KEEP_PLANNING):].strip()
    return text


def wants_to_stop(planner_output: str) -> bool:
    return STOP_PLANNING in planner_output


def subgoal_turn(k: int, text: str) -> str:
    """Training/exemplar form of the planner's k-th turn."""
    line = f"Subgoal {k}: {text}"
    return line if k == 1 else f"{KEEP_PLANNING} {line}"


# -- serialisation -----------------------------------------------------------------------------
def serialize_lumos(messages: list[Message]) -> str:
    """Lumos inference string for a conversation whose last turn is the user's (SPEC a.1/a.5)."""
    if not messages or messages[-1]["role"] != "user":
        raise ValueError("a prompt must end with a user turn")
    text = ""
    for m in messages:
        if m["role"] == "user":
            text += "<|user|>\n" + m["content"] + "\n<|assistant|>\n"
        elif m["role"] == "assistant":
            text += m["content"] + "\n\n"
        else:
            raise ValueError(f"unknown role {m['role']!r}")
    return text


def user(content: str) -> Message:
    return {"role": "user", "content": content}


def assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


# -- few-shot exemplars ------------------------------------------------------------------------
@dataclass
class FewShot:
    """Exemplar conversations placed before the real one (as earlier turns of the same chat)."""

    exemplars: list[Exemplar] = field(default_factory=list)

    def plan(self, mode: str, style: PromptStyle) -> list[Message]:
        msgs: list[Message] = []
        for ex in self.exemplars:
            msgs.append(user(plan_first_user(ex.question)))
            if mode == "one-pass":
                msgs.append(assistant(ex.plan_line()))
                continue
            for k, (sg, act, res) in enumerate(zip(ex.subgoals, ex.actions, ex.results), 1):
                msgs.append(assistant(subgoal_turn(k, sg)))
                # as at inference: the text after the last "=" of the executed action record
                msgs.append(user(plan_feedback(k, executed_result(act, res), f"Subgoal {k}: {sg}", style)))
            msgs.append(assistant(STOP_PLANNING_TURN))
        return msgs

    def ground(self, mode: str, header: str, style: PromptStyle) -> list[Message]:
        msgs: list[Message] = []
        for ex in self.exemplars:
            if mode == "one-pass":
                msgs.append(user(ground_onepass_user(header, ex.question, ex.plan_line())))
                msgs.append(assistant(ex.onepass_actions or "; ".join(ex.actions)))
                continue
            for k, (sg, act) in enumerate(zip(ex.subgoals, ex.actions), 1):
                line = f"Subgoal {k}: {sg}"
                if k == 1:
                    msgs.append(user(ground_first_user(header, ex.question, line)))
                else:
                    earlier = list(ex.results[: k - 1]) if style.ground_with_results else None
                    msgs.append(user(ground_next_user(line, earlier)))
                msgs.append(assistant(act))
        return msgs

    def digest(self) -> str:
        blob = json.dumps([asdict(e) for e in self.exemplars], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
