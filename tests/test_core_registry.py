"""Registry: lazy loading, collisions, broken plug-ins, "did you mean"."""

from __future__ import annotations

import sys
import types
import warnings
from importlib.metadata import EntryPoint

import pytest

from harness.environment import Environment
from harness.registry import ENVS, AGENTS, PluginLoadError, PluginWarning, Registry, UnknownNameError


class _Dist:
    def __init__(self, name: str) -> None:
        self.name = name


def _ep(name: str, value: str, dist: str) -> EntryPoint:
    ep = EntryPoint(name=name, value=value, group="test.group")
    return ep._for(_Dist(dist))  # attach a distribution like importlib.metadata does


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch):
    """A module whose import is observable, defining one Environment subclass."""
    mod = types.ModuleType("fake_lazy_env")

    class FakeEnv(Environment):
        name = "fake"
        domain = "math"
        version = "1"
        splits = ("test",)
        default_split = "test"
        main_metric = "acc"

        def load(self, split, limit=None):
            return []

        def tools(self):
            return []

        def session(self, task):
            raise NotImplementedError

        def score(self, task, trajectory):
            return {"acc": 0.0}

    FakeEnv.__module__ = "fake_lazy_env"
    mod.FakeEnv = FakeEnv
    mod.NotAnEnv = int
    monkeypatch.delitem(sys.modules, "fake_lazy_env", raising=False)
    return mod


def _fresh() -> Registry[Environment]:
    reg: Registry[Environment] = Registry("environment", "test.group.none", Environment)
    reg._scanned = True  # no real entry points
    return reg


def test_lazy_string_target_not_imported_until_get(fake_module, monkeypatch):
    reg = _fresh()
    reg.register("fake", "fake_lazy_env:FakeEnv")
    assert "fake_lazy_env" not in sys.modules
    assert reg.names() == ["fake"]
    monkeypatch.setitem(sys.modules, "fake_lazy_env", fake_module)
    assert reg.get("fake") is fake_module.FakeEnv


def test_register_collision_with_different_target_raises(fake_module):
    reg = _fresh()
    reg.register("fake", "fake_lazy_env:FakeEnv")
    reg.register("fake", "fake_lazy_env:FakeEnv")  # same target: no-op
    with pytest.raises(ValueError, match="already registered"):
        reg.register("fake", "other_module:Other")


def test_entry_point_collision_builtin_wins():
    reg: Registry[Environment] = Registry("environment", "test.group.none", Environment)
    reg._scanned = True
    reg._add_entry_point(_ep("gsm8k", "third_party:Gsm", "some-plugin"))
    with pytest.warns(PluginWarning, match="claimed twice"):
        reg._add_entry_point(_ep("gsm8k", "envs.math.gsm8k:GSM8K", "moat-harness"))
    assert reg.target("gsm8k") == "envs.math.gsm8k:GSM8K"
    with pytest.warns(PluginWarning, match="claimed twice"):
        reg._add_entry_point(_ep("gsm8k", "another:Gsm", "another-plugin"))
    assert reg.target("gsm8k") == "envs.math.gsm8k:GSM8K"


def test_broken_plugin_warns_in_listing_and_raises_on_get(fake_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "fake_lazy_env", fake_module)
    reg = _fresh()
    reg.register("fake", "fake_lazy_env:FakeEnv")
    reg.register("broken", "module_that_does_not_exist_xyz:Env")
    reg.register("wrongtype", "fake_lazy_env:NotAnEnv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = reg.load_all()
    assert list(loaded) == ["fake"]
    messages = [str(w.message) for w in caught]
    assert any("broken" in m and "ModuleNotFoundError" in m for m in messages)
    assert any("wrongtype" in m and "subclass of Environment" in m for m in messages)
    with pytest.raises(PluginLoadError, match="module_that_does_not_exist_xyz"):
        reg.get("broken")


def test_unknown_name_suggests_close_matches(fake_module):
    reg = _fresh()
    reg.register("gsm8k", "fake_lazy_env:FakeEnv")
    reg.register("svamp", "fake_lazy_env:FakeEnv")
    with pytest.raises(UnknownNameError) as err:
        reg.get("gsm8")
    assert "Did you mean 'gsm8k'" in str(err.value)
    with pytest.raises(UnknownNameError) as err:
        reg.get("zzzzzz")
    assert "Did you mean" not in str(err.value)
    assert "Known: gsm8k, svamp" in str(err.value)


def test_register_class_checks_base_type():
    reg = _fresh()
    with pytest.raises(TypeError, match="subclass of Environment"):
        reg.register("x", int)  # type: ignore[arg-type]


def test_builtins_come_from_our_entry_points():
    assert "oracle" in AGENTS.names()
    assert AGENTS.distribution("oracle") == "moat-harness"
    assert AGENTS.get("oracle").name == "oracle"
    assert "gsm8k" in ENVS.names()
