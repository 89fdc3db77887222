"""reported.csv holds every cell of the paper's Tables 2-4, typed and labelled, and is self-consistent."""

from __future__ import annotations

import pytest

from leaderboards.columns import AVG_KEYS, COLUMN_KEYS, group_columns
from leaderboards.reported import ReportedDataError, group_rows, load_cells, reported_rows

TABLE2 = {  # (method, base model): printed row, in column order of SPEC f.2
    ("GPT-4", "-"): (87.0, 22.6, 71.0, 60.2, 90.5, 58.6, 52.1, 67.1),
    ("GPT-3.5-Turbo", "-"): (65.0, 21.7, 58.0, 48.2, 81.0, 62.4, 24.0, 55.8),
    ("Llama-2-7B-Chat", "Llama-2-7B"): (15.0, 11.9, 5.0, 10.6, 20.7, 15.8, 3.0, 13.2),
    ("Agent Tuning", "Llama-2-7B"): (14.0, 10.6, 49.0, 24.5, 35.3, 59.8, 10.0, 35.0),
    ("Agent Tuning", "Llama-2-13B"): (22.3, 11.1, 52.0, 28.5, 56.9, 65.0, 24.0, 48.6),
    ("Agent-FLAN", "Llama-2-7B"): (28.5, 16.9, 48.0, 31.1, 39.2, 55.9, 12.0, 35.7),
    ("Agent Lumos", "Llama-2-7B"): (47.2, 32.6, 45.0, 41.6, 65.5, 58.3, 25.0, 49.6),
    ("MOAT", "Llama-2-7B"): (47.8, 35.4, 49.7, 44.3, 69.2, 60.6, 27.0, 52.3),
    ("Agent Lumos", "Mistral-7B-v0.2"): (46.4, 33.8, 49.3, 43.2, 61.9, 58.7, 27.0, 49.2),
    ("MOAT", "Mistral-7B-v0.2"): (48.2, 34.7, 56.0, 46.3, 73.7, 59.0, 28.0, 53.6),
}
ORDER = ("gsm8k", "mind2web", "strategyqa", "held_in_avg", "svamp", "webshop", "hotpotqa", "held_out_avg")


def test_table2_every_row_and_column_in_paper_order():
    rows = reported_rows(2)
    assert [(r.method, r.base_model) for r in rows] == list(TABLE2)
    for r in rows:
        assert tuple(r.cells[c].value for c in ORDER) == TABLE2[(r.method, r.base_model)]
        assert r.source == "MOAT paper, Table 2"
        assert all(c.source == "MOAT paper, Table 2" and c.table == 2 for c in r.cells.values())
        assert {c.kind for k, c in r.cells.items() if k in AVG_KEYS} == {"average"}
        assert {c.kind for k, c in r.cells.items() if k in COLUMN_KEYS} == {"score"}
    assert [r.section for r in rows].count("API-Based Agents") == 2
    assert [r.section for r in rows].count("Mistral Model Agents") == 2


def test_table2_averages_equal_cell_means_to_rounding():
    # SPEC f.5: "All group averages in Table 2 equal the means of their three cells (to rounding)".
    for r in reported_rows(2):
        for group in ("held_in", "held_out"):
            mean = sum(r.cells[c.key].value for c in group_columns(group)) / 3
            assert r.cells[f"{group}_avg"].value == pytest.approx(mean, abs=0.051), (r.label, group)


def test_headline_claims_follow_from_the_table():
    rows = {(r.method, r.base_model): r for r in reported_rows(2)}
    moat, lumos = rows[("MOAT", "Mistral-7B-v0.2")], rows[("Agent Lumos", "Mistral-7B-v0.2")]
    assert moat.cells["held_in_avg"].value - lumos.cells["held_in_avg"].value == pytest.approx(3.1)
    assert moat.cells["held_out_avg"].value - lumos.cells["held_out_avg"].value == pytest.approx(4.4)
    gpt4 = rows[("GPT-4", "-")]
    assert rows[("MOAT", "Llama-2-7B")].cells["mind2web"].value / gpt4.cells["mind2web"].value > 1.5


def test_table3_ablation_matches_printed_deltas():
    rows = {r.variant: r for r in reported_rows(3)}
    assert set(rows) == {"full", "w/o stage 1 (no planner alignment)", "w/o stage 2 (no grounder improving)"}
    full = rows["full"]
    assert (full.cells["mind2web"].value, full.cells["webshop"].value) == (35.43, 60.63)
    printed = {"w/o stage 1 (no planner alignment)": (3.49, 1.87), "w/o stage 2 (no grounder improving)": (0.71, 0.34)}
    for variant, (d_m2w, d_ws) in printed.items():
        assert full.cells["mind2web"].value - rows[variant].cells["mind2web"].value == pytest.approx(d_m2w)
        assert full.cells["webshop"].value - rows[variant].cells["webshop"].value == pytest.approx(d_ws)
    assert all(r.source == "MOAT paper, Table 3" for r in rows.values())


def test_table4_critics():
    got = {r.variant: (r.cells["mind2web"].value, r.cells["webshop"].value) for r in reported_rows(4)}
    assert got == {
        "critic: DeepSeek-R1-Distill-Qwen-14B": (33.52, 60.63),
        "critic: DeepSeek-R1-Distill-Qwen-32B": (34.03, 60.78),
        "critic: GPT-4o": (35.28, 60.57),
    }
    assert all(r.source == "MOAT paper, Table 4" and r.base_model == "" for r in reported_rows(4))


def test_granularity_notes_flag_unattainable_cells():
    flagged = {(c.method, c.base_model, c.column) for c in load_cells() if "not attainable" in c.note}
    assert flagged == {
        ("GPT-4", "-", "hotpotqa"), ("MOAT", "Llama-2-7B", "strategyqa"),
        ("Agent Lumos", "Mistral-7B-v0.2", "strategyqa"), ("Agent Tuning", "Llama-2-13B", "gsm8k"),
        ("Agent-FLAN", "Llama-2-7B", "gsm8k"),
    }
    assert all("StrategyQA train" in c.note for c in load_cells() if c.column == "strategyqa" and c.table == 2)


def test_loader_rejects_bad_files(tmp_path):
    good = (tmp_path / "ok.csv")
    header = "source,table,section,method,variant,base_model,column,metric,kind,value,note\n"
    good.write_text(header + '"MOAT paper, Table 2",2,s,M,,-,gsm8k,EM,score,12.5,\n')
    assert load_cells(good)[0].value == 12.5
    bad_cases = {
        "unknown column": '"MOAT paper, Table 2",2,s,M,,-,gsm9k,EM,score,1,\n',
        "outside": '"MOAT paper, Table 2",2,s,M,,-,gsm8k,EM,score,101,\n',
        "does not fit": '"MOAT paper, Table 2",2,s,M,,-,gsm8k,EM,average,1,\n',
        "does not name": '"MOAT paper, Table 3",2,s,M,,-,gsm8k,EM,score,1,\n',
        "could not convert": '"MOAT paper, Table 2",2,s,M,,-,gsm8k,EM,score,abc,\n',
    }
    for message, line in bad_cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(header + line)
        with pytest.raises(ReportedDataError, match=message):
            load_cells(path)
    dup = load_cells(good) * 2
    with pytest.raises(ReportedDataError, match="duplicate"):
        group_rows(dup)
