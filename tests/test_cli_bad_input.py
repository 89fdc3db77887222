"""Bad command-line input: one line naming the problem (and the flag, or the file and key), exit code 2,
no traceback; ``--debug`` shows the traceback. In-process through ``harness.cli.main`` (fast), plus a
few through a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cli_env, run_cli
from harness.cli import main

GSM8K_ROW = json.dumps({"question": "What is 1 + 1?", "answer": "1 + 1 = <<1+1=2>>2\n#### 2"})


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    err = capsys.readouterr().err
    return rc, err


def _error_lines(err: str) -> list[str]:
    """The lines a user sees, minus INFO/WARNING log lines and progress bars of what ran before the error."""
    return [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("INFO ", "WARNING ", "DEBUG "))]


def _assert_one_line(rc: int, err: str, *needles: str) -> None:
    lines = _error_lines(err)
    assert rc == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, lines
    assert lines[0].startswith(("harness ", "harness:")), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _config(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> str:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return str(p)


BASE = "agents: oracle\nbenchmarks: gsm8k\n"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (BASE + "limit: [1\n", ["cannot parse", "c.yaml", "line"]),
        (BASE + "limit: 3\n  - x: [\n", ["cannot parse", "c.yaml"]),
        (b"agents: oracle\n# \xff\xfe\n", ["not UTF-8", "c.yaml"]),
        (BASE + "limit: abc\n", ["c.yaml", "limit", "'abc'"]),
        (BASE + "limit: 0\n", ["c.yaml", "limit", "greater than or equal to 1"]),
        (BASE + "limit: true\n", ["c.yaml", "limit"]),
        (BASE + "seed: abc\n", ["c.yaml", "seed", "'abc'"]),
        (BASE + "seed: -1\n", ["c.yaml", "seed"]),
        (BASE + "batch_size: 0\n", ["c.yaml", "batch_size"]),
        (BASE + "batch_size: -3\n", ["c.yaml", "batch_size"]),
        ("agents: 5\nbenchmarks: gsm8k\n", ["c.yaml", "agents", "list of names"]),
        ("agents: [oracle, 5]\nbenchmarks: gsm8k\n", ["c.yaml", "agents"]),
        (BASE + "env: [1, 2]\n", ["c.yaml", "env", "dictionary"]),
        (BASE + "env:\n  gsm8k: 3\n", ["c.yaml", "env.gsm8k"]),
        (BASE + "agent: oops\n", ["c.yaml", "agent"]),
        (BASE + "backend: nope\n", ["c.yaml", "backend", "unknown backend 'nope'"]),
        (BASE + "data_dir: 7\n", ["c.yaml", "data_dir"]),
        (BASE + "limitt: 3\n", ["unknown option(s)", "limitt", "did you mean 'limit'"]),
        ("- agents\n- oracle\n", ["must hold a mapping"]),
        ("1: x\n", ["option names must be text"]),
        (BASE + "env:\n  gsm8k:\n    isolation: nope\n", ["gsm8k", "isolation", "'nope'"]),
        (BASE + "env:\n  gsm8k:\n    isolaton: worker\n", ["gsm8k.isolaton", "unknown option", "did you mean 'isolation'"]),
        (BASE + "env:\n  gsm8k:\n    tool_timeout: soon\n", ["gsm8k.tool_timeout", "must be a number"]),
        (BASE + "env:\n  gsm8k:\n    tool_timeout: true\n", ["gsm8k.tool_timeout", "must be a number"]),
        (BASE + "env:\n  gsm9k:\n    isolation: worker\n", ["env: section 'gsm9k'", "gsm8k"]),
        (BASE + "env:\n  webshop:\n    catalogue: huge\n", ["webshop.catalogue", "small, all"]),
    ],
)
def test_bad_config_file(capsys, tmp_path, text, needles):
    rc, err = _run(capsys, ["eval", "--config", _config(tmp_path, text), "--output-dir", str(tmp_path / "runs")])
    _assert_one_line(rc, err, *needles)
    assert not (tmp_path / "runs").exists()


def test_bad_json_config_names_line_and_column(capsys, tmp_path):
    rc, err = _run(capsys, ["eval", "--config", _config(tmp_path, '{"agents": "oracle",\n "limit": }', "c.json")])
    _assert_one_line(rc, err, "cannot parse", "c.json", "line 2")


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_config_path_that_is_not_a_file(capsys, tmp_path, what):
    path = tmp_path / "c.yaml"
    if what == "directory":
        path.mkdir()
    rc, err = _run(capsys, ["eval", "--config", str(path)])
    _assert_one_line(rc, err, str(path))


EVAL = ["eval", "--agents", "oracle", "--benchmarks", "gsm8k"]


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--limit", "-1"], ["--limit", "-1"]),
        (["--limit", "0"], ["--limit", "0"]),
        (["--limit", "abc"], ["--limit", "'abc'"]),
        (["--batch-size", "0"], ["--batch-size"]),
        (["--batch-size", "-3"], ["--batch-size"]),
        (["--seed", "-2"], ["--seed"]),
        (["--backend", "nope"], ["--backend", "unknown backend 'nope'", "hf"]),
        (["--split", "nope"], ["no split 'nope'"]),
        (["--nope"], ["unrecognized arguments: --nope"]),
    ],
)
def test_bad_flag(capsys, tmp_path, flags, needles):
    rc, err = _run(capsys, [*EVAL, "--output-dir", str(tmp_path / "runs"), *flags])
    _assert_one_line(rc, err, *needles)


def test_missing_required_options(capsys):
    rc, err = _run(capsys, ["eval", "--agents", "oracle"])
    _assert_one_line(rc, err, "--benchmarks is required")


@pytest.mark.parametrize("flag", ["--output-dir", "--data-dir"])
def test_directory_option_naming_a_file(capsys, tmp_path, flag):
    f = tmp_path / "afile"
    f.write_text("x")
    argv = [*EVAL, "--limit", "1", "--output-dir", str(tmp_path / "runs"), flag, str(f)]
    rc, err = _run(capsys, argv)
    _assert_one_line(rc, err, flag, "is a file, not a directory")
    argv[-1] = str(f / "below")
    rc, err = _run(capsys, argv)
    _assert_one_line(rc, err, flag, f"{f} is a file, not a directory")


def _data_dir(tmp_path: Path, kind: str) -> Path:
    root = tmp_path / "data"
    target = root / "gsm8k" / "test.jsonl"
    target.parent.mkdir(parents=True)
    if kind == "directory":
        target.mkdir()
    elif kind == "not-utf8":
        target.write_bytes(GSM8K_ROW.encode() + b"\n\xff\xfe{}\n")
    elif kind == "truncated":
        target.write_text(GSM8K_ROW + "\n\n" + GSM8K_ROW[:25])  # the blank line 2 is skipped
    elif kind == "empty":
        target.write_text("")
    elif kind == "blank-lines":
        target.write_text("\n\n\n")
    elif kind == "wrong-layout":
        target.write_text(json.dumps({"q": "x"}) + "\n")
    elif kind == "not-an-object":
        target.write_text("[1, 2]\n")
    return root


@pytest.mark.parametrize(
    ("kind", "needles"),
    [
        ("directory", ["test.jsonl", "is a directory"]),
        ("not-utf8", ["test.jsonl", "not UTF-8", "line 2"]),
        ("truncated", ["test.jsonl", "line 3", "not valid JSON"]),
        ("empty", ["gsm8k split test has no tasks", "empty"]),
        ("blank-lines", ["has no tasks"]),
        ("wrong-layout", ["gsm8k split test", "lacks the field 'question'"]),
        ("not-an-object", ["gsm8k split test", "unexpected data layout"]),
    ],
)
def test_bad_data_file(capsys, tmp_path, kind, needles):
    data = _data_dir(tmp_path, kind)
    rc, err = _run(capsys, [*EVAL, "--limit", "2", "--data-dir", str(data), "--output-dir", str(tmp_path / "runs")])
    _assert_one_line(rc, err, *needles)


def test_unreadable_data_file_is_named(monkeypatch, tmp_path):
    from harness.data import DataFormatError, read_text

    target = tmp_path / "test.jsonl"
    target.write_text("{}\n")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataFormatError, match=r"cannot read data file .*test.jsonl: Permission denied"):
        read_text(target)


def test_debug_shows_the_traceback(capsys, tmp_path):
    argv = ["--debug", *EVAL, "--output-dir", str(tmp_path / "runs"), "--backend", "nope"]
    rc, err = _run(capsys, argv)
    assert rc == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("harness eval: error:")
    rc, err = _run(capsys, [*EVAL, "--output-dir", str(tmp_path / "runs"), "--backend", "nope", "--debug"])
    assert rc == 2 and "Traceback" in err


def test_unexpected_failure_is_one_line_with_exit_1(capsys, monkeypatch, tmp_path):
    import harness.evaluate

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("something broke\nover two lines")

    monkeypatch.setattr(harness.evaluate, "run_plan", boom)
    rc, err = _run(capsys, [*EVAL, "--output-dir", str(tmp_path / "runs")])
    lines = _error_lines(err)
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err
    assert "internal error: RuntimeError: something broke; over two lines" in lines[0] and "--debug" in lines[0]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["train", "moat", "--k", "0"], ["--k", "'0'"]),
        (["train", "moat", "--iterations", "-1"], ["--iterations"]),
        (["train", "nope"], ["invalid choice: 'nope'"]),
        (["leaderboard"], ["--runs-dir is required"]),
        (["leaderboard", "--runs-dir", "x", "--resamples", "0"], ["--resamples"]),
        (["show", "x", "--samples", "-1"], ["--samples"]),
        (["nope"], ["invalid choice"]),
    ],
)
def test_bad_input_of_other_commands(capsys, argv, needles):
    rc, err = _run(capsys, argv)
    _assert_one_line(rc, err, *needles)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("moat:\n  kk: 3\n", ["unknown option(s)", "moat.kk"]),
        ("data:\n  sources:\n    - {env: gsm8k, limitt: 3}\n", ["data.sources[0].limitt"]),
        ("moat:\n  k: abc\n", ["invalid training configuration", "moat.k", "'abc'"]),
        ("lora: [1\n", ["cannot parse"]),
    ],
)
def test_bad_train_config(capsys, tmp_path, text, needles):
    rc, err = _run(capsys, ["train", "lumos", "--preset", "tiny", "--config", _config(tmp_path, text),
                            "--output-dir", str(tmp_path / "t")])
    _assert_one_line(rc, err, *needles)
    assert not (tmp_path / "t").exists()


def test_leaderboard_output_paths(capsys, tmp_path):
    (tmp_path / "afile").write_text("x")
    rc, err = _run(capsys, ["leaderboard", "--runs-dir", str(tmp_path / "afile")])
    _assert_one_line(rc, err, "--runs-dir", "is a file")
    runs = tmp_path / "runs"
    runs.mkdir()
    rc, err = _run(capsys, ["leaderboard", "--runs-dir", str(runs), "--output", str(tmp_path)])
    assert rc == 2 and "Traceback" not in err


# -- the same contract seen from a real process -------------------------------------------------------

@pytest.mark.parametrize(
    ("argv_tail", "text", "needle"),
    [
        ([], BASE + "limit: [1\n", "cannot parse"),
        (["--limit", "-1"], BASE, "--limit"),
        (["--batch-size", "0"], BASE, "--batch-size"),
    ],
)
def test_subprocess_prints_one_line_and_exits_2(tmp_path, argv_tail, text, needle):
    proc = run_cli(["eval", "--config", _config(tmp_path, text), "--output-dir", str(tmp_path / "r"), *argv_tail],
                   env=cli_env())
    lines = _error_lines(proc.stderr)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and needle in lines[0], proc.stderr


# -- declared environment options -------------------------------------------------------------------

def test_undeclared_plugin_options_pass_through_and_declared_ones_are_checked():
    from harness.errors import ConfigError
    from harness.options import EnvOption, check_env_options

    class Legacy:
        name = "legacy"
        options_spec = None

    assert check_env_options(Legacy, {"anything": [1], "dropped": None}) == {"anything": [1]}

    class Declared:
        name = "declared"
        options_spec = {"n": EnvOption(int), "mode": EnvOption(str, choices=("a", "b")), "t": EnvOption(float)}

    assert check_env_options(Declared, {"n": 3, "mode": "a", "t": 2}) == {"n": 3, "mode": "a", "t": 2}
    for bad, needle in [({"n": "3"}, "declared.n: must be a whole number"), ({"n": True}, "declared.n"),
                        ({"mode": "c"}, "must be one of a, b"), ({"mod": "a"}, "did you mean 'mode'"),
                        ({"t": "x" * 500}, "...")]:
        with pytest.raises(ConfigError) as info:
            check_env_options(Declared, bad)
        assert needle in str(info.value) and len(str(info.value)) < 300
    with pytest.raises(ConfigError, match="must be a mapping"):
        check_env_options(Declared, [1, 2])


def test_every_builtin_env_declares_the_options_it_reads():
    """Each ``options.get("x")`` in a built-in environment's source names a declared option."""
    import inspect
    import re

    from harness.registry import ENVS

    for name, cls in ENVS.load_all().items():
        if cls.__module__.split(".")[0] != "envs":
            continue
        assert cls.options_spec is not None, name
        src = "".join(inspect.getsource(k) for k in cls.__mro__ if k.__module__.startswith("envs."))
        read = set(re.findall(r"options\.get\(\s*\"(\w+)\"", src)) | set(re.findall(r"options\[\s*\"(\w+)\"", src))
        read |= set(re.findall(r"\(\"(\w+)\", \"--[\w-]+\"\)", src))  # webshop's server flag table
        assert read <= set(cls.options_spec), (name, read - set(cls.options_spec))


@pytest.mark.parametrize(("error", "needle"), [(ValueError("mode must be one of ('iterative', 'one-pass')"), "mode must be"),
                                               (OSError("no model at /nope"), "cannot load its model: no model at /nope")])
def test_agent_that_refuses_its_options(capsys, monkeypatch, tmp_path, error, needle):
    from agents.producers.oracle import OracleProducer

    def build(self: object, options: object) -> None:
        raise error

    monkeypatch.setattr(OracleProducer, "build", build)
    rc, err = _run(capsys, [*EVAL, "--limit", "1", "--output-dir", str(tmp_path / "runs")])
    _assert_one_line(rc, err, "agent oracle", needle)


def test_show_a_torn_results_file(capsys, tmp_path):
    run = tmp_path / "oracle" / "gsm8k-test"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "results.json").write_text('{"agent": "ora')
    rc, err = _run(capsys, ["show", str(run)])
    _assert_one_line(rc, err, "results.json", "not a readable results file")


# -- one spelling per concept; the old spellings stay as hidden aliases -------------------------------

@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["train", "lumos", "--output-dir", "d"], "output_dir", "d"),
        (["train", "lumos", "--out", "d"], "output_dir", "d"),
        (["train", "lumos", "--export-dir", "e"], "export_dir", "e"),
        (["train", "lumos", "--export", "e"], "export_dir", "e"),
        (["leaderboard", "--runs-dir", "a", "--runs", "b"], "runs_dir", ["a", "b"]),
        (["leaderboard", "--output", "x.md"], "output", "x.md"),
        (["leaderboard", "--out", "x.md"], "output", "x.md"),
        (["eval", "--output-dir", "r"], "output_dir", "r"),
    ],
)
def test_new_and_old_spellings_parse_to_the_same_option(argv, dest, value):
    from harness.cli import build_parser

    assert getattr(build_parser().parse_args(argv), dest) == value


def test_help_shows_only_the_new_spellings(capsys):
    import re

    for command, new, old in [("train", ["--output-dir", "--export-dir"], ["--out", "--export"]),
                              ("leaderboard", ["--runs-dir", "--output"], ["--runs", "--out"])]:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        shown = set(re.findall(r"--[a-z][a-z0-9-]*", text))
        assert set(new) <= shown and not set(old) & shown, (command, shown)
        assert "(default " not in text  # one style: "(default: X)"
