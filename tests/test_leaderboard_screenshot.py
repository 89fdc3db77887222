"""The leaderboard HTML renders in a real browser: headless Chromium takes a screenshot of the page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from leaderboard_helpers import ones, write_run

from harness.cli import main
from leaderboards import table as table_mod

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1400, 1600

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless screenshot needs /usr/bin/chromium (Debian: apt-get install -y chromium)"
)


def test_html_renders_in_headless_chromium(tmp_path, monkeypatch):
    from matplotlib import image

    monkeypatch.setattr(table_mod, "_registry_default_split", lambda benchmark: None)
    runs = tmp_path / "runs"
    cfg = {"planner": "SmolLM2-135M-Instruct", "grounder": "SmolLM2-135M-Instruct"}
    for agent, ks in {"lumos": (10, 5, 6, 30, 2, 3), "moat": (12, 6, 7, 33, 3, 4)}.items():
        for (bench, split), k, n in zip(
            (("gsm8k", "test"), ("mind2web", "test"), ("strategyqa", "lumos"), ("svamp", "test"), ("webshop", "test"),
             ("hotpotqa", "test")), ks, (50, 10, 10, 60, 10, 10)):
            write_run(runs, agent, bench, split, ones(k, n), agent_config=cfg | {"producer": agent})
    write_run(runs, "base", "gsm8k", "test", ones(4, 50), agent_config=cfg | {"producer": "base"})
    out = tmp_path / "site" / "board.md"
    assert main(["leaderboard", "--runs", str(runs), "--out", str(out), "--html", "--compare", "moat", "lumos",
                 "--resamples", "300"]) == 0
    page = out.with_suffix(".html")

    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars", f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    pixels = image.imread(shot)[..., :3]
    h, w = pixels.shape[:2]
    assert (w, h) == (WIDTH, HEIGHT)
    assert pixels.std() > 0.05, "screenshot is blank"
    # mostly white page with dark text: the page rendered, not an error screen
    assert (pixels.mean(axis=2) > 0.9).mean() > 0.5
    assert (pixels.mean(axis=2) < 0.3).mean() > 0.005
    # the reported rows' tinted background (#fff8e6) is on the page
    tint = (abs(pixels[..., 0] - 1.0) < 0.02) & (abs(pixels[..., 1] - 0xF8 / 255) < 0.02) & (abs(pixels[..., 2] - 0xE6 / 255) < 0.02)
    assert tint.sum() > 1000
