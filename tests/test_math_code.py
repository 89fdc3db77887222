"""The Code tool: direct Python, the Lumos ``If`` idiom, a pluggable code model, sandboxed runs."""

from __future__ import annotations

import pytest

from envs.actions import InvalidAction, ToolError
from envs.math.code import CodeTool, lumos_if, make_code_tool
from envs.math.executor import InProcessEvaluator, MathExecutor
from envs.sandbox import SandboxLimits


class FakeBackend:
    def __init__(self, body: str):
        self.body = body
        self.prompts: list[str] = []

    def generate(self, prompts, params):
        self.prompts.extend(prompts)
        assert "```" in params.stop
        return [[self.body] for _ in prompts]


def test_lumos_if_translation():
    assert lumos_if("If 64 > 0, 64, -64") == "(64) if (64 > 0) else (-64)"
    assert lumos_if("if a, b") is None
    assert lumos_if("1 + 2") is None


def test_code_action_without_model_runs_python_and_the_if_idiom():
    ex = MathExecutor(InProcessEvaluator(timeout_s=5))
    res = ex.execute("R1 = Calculator(0 - 64); R2 = Code(If R1 > 0, R1, -R1); R3 = Code(sum(range(R2 // 8)))")
    assert [r.result for r in res] == ["-64", "64", "28"]
    res = ex.execute("R4 = Code(result = max([3, 9, 4]) * 2.0)")
    assert res[0].result == "18"


def test_code_without_model_refuses_prose_with_a_clear_message():
    with pytest.raises(InvalidAction, match="no code model is configured"):
        CodeTool().run_text("add the two numbers and halve it")


def test_code_errors_and_timeouts_are_tool_errors():
    tool = CodeTool(limits=SandboxLimits(timeout_s=1, cpu_s=5, memory_mb=512))
    with pytest.raises(ToolError, match="timed out"):
        tool.run_text("result = [0 for _ in iter(int, 1)]")
    with pytest.raises(ToolError, match="ZeroDivisionError"):
        tool.run_text("1 / 0")
    with pytest.raises(ToolError, match="PermissionError|Read-only file system"):  # guard | bwrap
        tool.run_text("result = open('/usr/x-harness-code', 'w')")


def test_code_model_writes_the_function():
    backend = FakeBackend("    return sum(range(5))\n")
    run = make_code_tool(lambda: backend)
    assert run("add the numbers from 0 to 4") == "10"
    assert "Pseudo code: add the numbers from 0 to 4" in backend.prompts[0]


def test_code_model_failures_are_observations():
    class Broken:
        def generate(self, prompts, params):
            raise RuntimeError("out of memory")

    with pytest.raises(ToolError, match="code model failed"):
        make_code_tool(lambda: Broken())("x")
    with pytest.raises(ToolError, match="no code model"):
        make_code_tool(lambda: None)("x")
    with pytest.raises(ToolError, match="cannot load the code model"):
        CodeTool(code_model="some/model", backend="no-such-backend").run_text("x")


def test_executor_reports_code_model_errors_without_raising():
    ex = MathExecutor(InProcessEvaluator(), CodeTool(code_model="some/model", backend="no-such-backend"))
    r = ex.execute("R1 = Code(double 4)")[0]
    assert r.error_kind == "tool_error" and "cannot load" in r.error
