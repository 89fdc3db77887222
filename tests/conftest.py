"""Shared fixtures: the repo's data dir, the installable test plug-in, a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGIN_SRC = REPO / "tests" / "plugin_pkg"


def _data_dir() -> Path | None:
    env = os.environ.get("HARNESS_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "benchmarks")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data folder; tests needing real data skip when it is absent."""
    d = _data_dir()
    if d is None:
        pytest.skip("benchmark data not found (set HARNESS_DATA_DIR or place ../shared/benchmarks)")
    return d


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install the test plug-in package into a private folder, as a third party would ship it."""
    target = tmp_path_factory.mktemp("plugin_site")
    build = tmp_path_factory.mktemp("plugin_build")
    src = build / "src"
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-compile", "--target", str(target), str(src)],
        check=True,
        cwd=build,
        env=os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return target


def cli_env(plugin_site: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if plugin_site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(plugin_site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120):
    """Run ``harness ARGS`` in a subprocess (the installed console entry, via ``-m``)."""
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )


@pytest.fixture
def toy_plugin_in_process(monkeypatch: pytest.MonkeyPatch):
    """Import the toy plug-in modules in-process (no install) for fast runner tests."""
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from harness_test_plugin.agent import ToyEchoAgent
    from harness_test_plugin.env import ToyArith

    return ToyArith, ToyEchoAgent
