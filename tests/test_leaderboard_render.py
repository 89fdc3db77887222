"""Markdown/HTML/PNG renderings and the ``harness leaderboard`` command on synthetic runs."""

from __future__ import annotations

import io
import json
import re

import pytest
from leaderboard_helpers import ones, write_run

from harness.cli import main
from leaderboards import table as table_mod
from leaderboards.collect import collect_runs
from leaderboards.compare import compare_rows
from leaderboards.plot import column_bars
from leaderboards.render import render_markdown, render_png
from leaderboards.render_html import render_html
from leaderboards.table import build_leaderboard

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _no_registry(monkeypatch):
    monkeypatch.setattr(table_mod, "_registry_default_split", lambda benchmark: None)


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    cfg = {"producer": "x", "planner": "SmolLM2-135M-Instruct", "grounder": "SmolLM2-135M-Instruct"}
    for agent, ks in {"lumos": (10, 5, 6, 30), "moat": (12, 6, 7, 33)}.items():
        for (bench, split), k, n in zip((("gsm8k", "test"), ("mind2web", "test"), ("strategyqa", "lumos"),
                                         ("svamp", "test")), ks, (50, 10, 10, 60)):
            write_run(root, agent, bench, split, ones(k, n), agent_config=cfg | {"producer": agent})
    # a fixed CI to check its rendering
    res_path = root / "lumos" / "gsm8k-test" / "results.json"
    res = json.loads(res_path.read_text())
    res["ci95"]["em_numeric"] = [0.1234, 0.3456]
    res_path.write_text(json.dumps(res))
    return root


def test_markdown_cells_links_and_marks(runs, tmp_path):
    board = build_leaderboard(collect_runs([runs]))
    out_dir = tmp_path / "site"
    md = render_markdown(board, "T", base=out_dir, comparison=compare_rows(board, "moat", "lumos"))
    assert "[20.0 (12.3–34.6)](../runs/lumos/gsm8k-test/results.json)" in md
    lumos_line = next(line for line in md.splitlines() if line.startswith("| **lumos** |"))
    assert lumos_line.count("*not run*") == 2  # WebShop, HotpotQA
    assert "*incomplete* (no WebShop, HotpotQA)" in lumos_line
    assert f"**{(20 + 50 + 60) / 3:.1f} (" in lumos_line  # the held-in average is complete
    assert md.count("**[reported]** |") == 10
    assert "| GPT-4 **[reported]** | - | *87.0* | *22.6* | *71.0* | *60.2* | *90.5* | *58.6* | *52.1* | *67.1* |" in md
    assert "StrategyQA (lumos†)" in md and "† StrategyQA split 'lumos'" in md
    assert "## Paired comparison: moat vs lumos" in md
    assert "| GSM8K | 50 | 24.0 | 20.0 | +4.0 (" in md and "2 / 0, p = 0.5 |" in md
    assert "## Deviations from the paper" in md and "Base model SmolLM2-135M-Instruct (lumos, moat)" in md
    assert "| Table 4 | MOAT | critic: GPT-4o | not stated | 35.3 | 60.6 |" in md


def test_html_is_self_contained(runs, tmp_path):
    board = build_leaderboard(collect_runs([runs]))
    png = render_png(board, "T")
    page = render_html(board, "T", base=tmp_path, png=png)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<script|<link|@import|url\(|src=\"(?!data:)", page)
    assert "https://" not in page and "http://" not in page
    assert 'src="data:image/png;base64,' in page
    assert 'href="runs/moat/gsm8k-test/results.json"' in page
    assert page.count('class="reported"') == 10 and page.count("not run") >= 4
    assert "incomplete" in page


def test_png_is_a_real_chart(runs):
    from matplotlib import image

    png = render_png(build_leaderboard(collect_runs([runs])), "T")
    assert png.startswith(PNG_MAGIC)
    pixels = image.imread(io.BytesIO(png), format="png")
    h, w = pixels.shape[:2]
    assert w >= 600 and h >= 400
    assert pixels[..., :3].std() > 0.05  # not blank


def test_png_per_column_panel_draws_benchmark_numbers_and_names_fixtures(tmp_path):
    """The per-column panel is the only place a measured number shows when web columns are fixtures
    (every average is then incomplete): benchmark cells become bars, fixture cells never do."""
    write_run(tmp_path, "moat", "gsm8k", "test", [1, 1, 0, 0])
    write_run(tmp_path, "moat", "webshop", "test", [1, 1], notes=["FIXTURE catalogue: not a benchmark number"])
    write_run(tmp_path, "lumos", "gsm8k", "test", [1, 0, 0, 0])
    board = build_leaderboard(collect_runs([tmp_path]))
    bars = {(b.column, b.agent): b for b in column_bars(board)}
    assert len(bars) == 6 * 2  # every column x every measured row, in Table 2 order
    assert [b.column for b in column_bars(board)][:2] == ["GSM8K", "GSM8K"]
    assert bars["GSM8K", "moat"].kind == "bar" and bars["GSM8K", "moat"].value == pytest.approx(50.0)
    assert bars["GSM8K", "lumos"].value == pytest.approx(25.0) and bars["GSM8K", "lumos"].ci is not None
    assert bars["WebShop", "moat"].kind == "fixture"
    assert bars["WebShop", "lumos"].kind == "not_run" and bars["SVAMP", "moat"].kind == "not_run"
    assert board.row("moat").averages["held_out"].status == "incomplete"
    assert render_png(board, "T").startswith(PNG_MAGIC)


def test_png_per_column_legend_names_every_row_once(tmp_path):
    """A row without a GSM8K number (the first column) still gets its legend entry."""
    from matplotlib.figure import Figure

    from leaderboards.plot import _draw_columns

    write_run(tmp_path, "moat", "gsm8k", "test", [1, 0])
    write_run(tmp_path, "moat", "svamp", "test", [1, 0])
    write_run(tmp_path, "lumos", "svamp", "test", [0, 0])
    ax = Figure().add_subplot()
    _draw_columns(ax, build_leaderboard(collect_runs([tmp_path])))
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["lumos", "moat"]


def test_cli_writes_markdown_html_png(runs, tmp_path, capsys):
    out = tmp_path / "lb" / "board.md"
    rc = main(["leaderboard", "--runs", str(runs), "--out", str(out), "--html", "--png", "--compare", "moat", "lumos",
               "--resamples", "500"])
    assert rc == 0
    md = out.read_text()
    assert "![held-in and held-out averages](board.png)" in md
    assert "(../runs/moat/svamp-test/results.json)" in md
    assert out.with_suffix(".png").read_bytes().startswith(PNG_MAGIC)
    assert "data:image/png;base64," in out.with_suffix(".html").read_text()
    err = capsys.readouterr().err
    assert "moat − lumos" in err and "wrote " in err


def test_cli_prints_markdown_without_out(runs, capsys):
    assert main(["leaderboard", "--runs", str(runs), "--no-reported", "--split", "strategyqa=lumos"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# MOAT reproduction leaderboard") and "[reported]** |" not in out
    assert "## Reported ablations" not in out


def test_cli_version_mismatch_is_a_clear_error(runs, capsys):
    write_run(runs, "base", "gsm8k", "test", ones(1, 50), version="2")
    assert main(["leaderboard", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "harness leaderboard: error: refusing to put runs with different benchmark versions in the GSM8K column" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--split", "strategyqa"], "--split expects BENCH=VALUE"),
        (["--html"], "--html and --png need --out"),
        (["--compare", "moat", "nobody"], "no runs of 'nobody'"),
    ],
)
def test_cli_usage_errors(runs, capsys, argv, message):
    assert main(["leaderboard", "--runs", str(runs), *argv]) == 2
    assert message in capsys.readouterr().err


def test_training_log_section_from_the_runs_train_run(tmp_path, capsys):
    """The moat row's results name their training run; its per-iteration log and plot are shown."""
    train = tmp_path / "train"
    (train / "moat").mkdir(parents=True)
    (train / "manifest.json").write_text(json.dumps({"kind": "moat", "command": "harness train moat --preset cpu-small",
                                                    "config_hash": "c0ffee"}))
    rows = [{"iteration": 0, "dev_accuracy": 0.0, "dev_nll_after_sft": 0.58},
            {"iteration": 1, "mean_nll": 0.506, "chosen_nll": 0.394, "rejected_nll": 0.63, "pairs_kept": 16,
             "dev_nll_start": 0.58, "dev_nll_after_dpo": 0.5717, "dev_accuracy": 0.25}]
    (train / "moat" / "log.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (train / "moat" / "rewards.png").write_bytes(PNG_MAGIC + b"fake")
    root = tmp_path / "runs"
    write_run(root, "moat", "gsm8k", "test", ones(3, 10), agent_config={"producer": "moat", "train_run": str(train)})
    write_run(root, "lumos", "gsm8k", "test", ones(2, 10), agent_config={"producer": "lumos", "train_run": "/nowhere"})
    write_run(root, "base", "gsm8k", "test", ones(1, 10))
    out = tmp_path / "lb" / "b.md"
    assert main(["leaderboard", "--runs", str(root), "--out", str(out), "--html", "--resamples", "200"]) == 0
    md = out.read_text()
    assert "## How moat was trained: per-iteration log" in md and "`harness train moat --preset cpu-small`" in md
    assert "| 1 | 0.506 | 0.394 | 0.630 | 16 | - | - | 0.580 | 0.572 | - | 0.250 |" in md
    assert "![moat per-iteration rewards](b-moat-rewards.png)" in md
    assert (out.parent / "b-moat-rewards.png").read_bytes() == PNG_MAGIC + b"fake"
    assert "How lumos was trained" not in md and "How base was trained" not in md  # lumos has no MOAT log
    assert "How moat was trained" in out.with_suffix(".html").read_text()


def test_training_log_missing_run_is_said_not_invented(tmp_path):
    from leaderboards.training_log import read_training_log

    entry = read_training_log("moat", str(tmp_path / "gone"))
    assert entry.rows == [] and "has no manifest.json + moat/log.jsonl on this machine" in entry.problem


def test_preface_goes_under_the_title(runs, tmp_path, capsys):
    pre = tmp_path / "pre.md"
    pre.write_text("**What this shows.** MOAT <b> vs Lumos.\n\nSecond paragraph.\n")
    out = tmp_path / "lb" / "b.md"
    assert main(["leaderboard", "--runs", str(runs), "--out", str(out), "--html", "--preface", str(pre),
                 "--resamples", "200"]) == 0
    md = out.read_text()
    assert md.index("**What this shows.** MOAT <b> vs Lumos.") < md.index("Values are percentages")
    html_text = out.with_suffix(".html").read_text()
    assert '<p class="preface">**What this shows.** MOAT &lt;b&gt; vs Lumos.</p>' in html_text
    assert main(["leaderboard", "--runs", str(runs), "--preface", str(tmp_path / "nope.md")]) == 2
    assert "--preface" in capsys.readouterr().err
