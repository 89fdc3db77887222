"""Data resolution and the data/doctor commands against the built-in maths environments."""

from __future__ import annotations

import json

from conftest import cli_env, run_cli


def test_missing_data_is_one_clear_line(tmp_path):
    proc = run_cli(
        ["eval", "--agents", "oracle", "--benchmarks", "gsm8k", "--data-dir", str(tmp_path / "nodata"), "--output-dir", str(tmp_path)],
        env=cli_env(),
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "gsm8k/test.jsonl" in proc.stderr and "harness data download gsm8k" in proc.stderr


def test_data_dir_from_environment_variable(tmp_path):
    proc = run_cli(["data", "verify", "svamp"], env=cli_env(HARNESS_DATA_DIR=str(tmp_path)))
    assert proc.returncode == 1 and "missing" in proc.stdout


def test_data_verify_and_oracle_eval_on_real_data(data_dir, tmp_path):
    env = cli_env(HARNESS_DATA_DIR=str(data_dir))
    proc = run_cli(["data", "verify", "gsm8k"], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test.jsonl" in proc.stdout and "mismatch" not in proc.stdout
    proc = run_cli(["eval", "--agents", "oracle", "--benchmarks", "svamp", "--limit", "20", "--output-dir", str(tmp_path)], env=env)
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "oracle" / "svamp-test" / "results.json").read_text())
    assert res["n"] == 20 and res["main_metric"] == "em_numeric" and res["metrics"]["em_numeric"] >= 0.95
    assert res["data_checksum"]
