"""Test helpers for plug-in authors: the check ``harness doctor NAME`` runs, as one assertion.

In a plug-in's own test suite::

    from harness.testing import assert_env_ok

    def test_my_benchmark():
        assert_env_ok("my_bench")          # the registered name (the plug-in is installed) ...
        assert_env_ok(MyBench, limit=5)    # ... or the class itself

It loads a few tasks, replays their gold trajectories with the ``oracle`` agent when they have
them, and checks that ``score()`` returns the main metric; with ``min_oracle`` it also requires the
oracle's mean main metric to reach that value (a benchmark whose own gold trajectories do not
score is usually a tool or scoring bug). Missing data fails the test: a check was asked for.
"""

from __future__ import annotations

from typing import Any

from harness.checks import CheckResult, check_env
from harness.environment import Environment


def check_environment(target: str | type[Environment], **kwargs: Any) -> CheckResult:
    """:func:`harness.checks.check_env` with the deep check (tasks, oracle, scoring)."""
    kwargs.setdefault("deep", True)
    return check_env(target, **kwargs)


def assert_env_ok(target: str | type[Environment], *, min_oracle: float | None = None,
                  **kwargs: Any) -> CheckResult:
    """Fail (``AssertionError`` with every problem) unless the environment passes the check."""
    result = check_environment(target, **kwargs)
    assert result.status == "ok", f"environment {result.name}: {result.status}: {result.summary()}"
    if min_oracle is not None:
        score = result.oracle_mean
        assert score is not None, f"environment {result.name}: no gold trajectories to replay ({result.summary()})"
        assert score >= min_oracle, f"environment {result.name}: oracle scored {score} < {min_oracle}"
    return result
