"""OpenMP wait policy chosen before torch loads: short spin when idle, sleep when busy, user wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.openmp import SLEEP, SPIN, wait_policy


@pytest.mark.parametrize("load, cores, expected", [
    (0.2, 2, SPIN), (0.99, 2, SPIN), (1.0, 2, SLEEP), (3.5, 2, SLEEP), (7.0, 16, SPIN), (None, 2, SLEEP),
])
def test_wait_policy_golden(load, cores, expected):
    assert wait_policy(load, cores) == expected


def _configure_in_fresh_process(extra_env: dict[str, str]) -> tuple[dict, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | extra_env
    code = ("import json, os; from harness.openmp import configure_openmp; set_ = configure_openmp(); "
            "print(json.dumps([set_, {k: os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout))


def test_configure_sets_one_policy_when_the_user_set_none():
    chosen, env = _configure_in_fresh_process({})
    assert chosen in (SPIN, SLEEP)
    assert all(env[k] == v for k, v in chosen.items())


@pytest.mark.parametrize("user", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "5"}])
def test_configure_leaves_a_user_choice_alone(user):
    chosen, env = _configure_in_fresh_process(user)
    assert chosen == {}
    assert {k: v for k, v in env.items() if v is not None} == user


def test_configure_does_nothing_once_torch_is_loaded():
    code = ("import os, torch; from harness.openmp import configure_openmp; "
            "print(configure_openmp(), os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["{}", "None", "None"]
