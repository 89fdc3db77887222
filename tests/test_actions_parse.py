"""Golden cases for the shared Lumos action parser, substitution and generic executor."""

from __future__ import annotations

import pytest

from envs.actions import (
    InvalidAction,
    ToolError,
    VariableStore,
    find_variables,
    parse_action,
    parse_actions,
    parse_fields,
    split_actions,
    split_args,
    substitute,
)
from envs.tool_executor import Tool, ToolExecutor


# -- splitting ---------------------------------------------------------------------------------
def test_split_plain_sequence():
    assert split_actions("R1 = Calculator(2 - 0.5); R2 = Calculator(R1 / 0.25)") == [
        "R1 = Calculator(2 - 0.5)",
        "R2 = Calculator(R1 / 0.25)",
    ]


def test_split_keeps_semicolons_inside_parentheses_and_quotes():
    line = 'R1 = QA([R2], Question: a; b?); R2 = Search("x; y")'
    assert split_actions(line) == ["R1 = QA([R2], Question: a; b?)", 'R2 = Search("x; y")']


def test_split_unbalanced_falls_back_to_assignment_boundaries():
    line = "R1 = CLICK(Env, QUERY: click the ) button); R2 = TYPE(R1, QUERY: a; b, TEXT: c)"
    parts = split_actions(line)
    assert parts[0] == "R1 = CLICK(Env, QUERY: click the ) button)"
    assert parts[1] == "R2 = TYPE(R1, QUERY: a; b, TEXT: c)"


def test_split_empty_and_trailing_separator():
    assert split_actions("   ") == []
    assert split_actions("R1 = Define(3);") == ["R1 = Define(3)"]


# -- single actions ----------------------------------------------------------------------------
def test_parse_simple():
    p = parse_action("R1 = Calculator(15 * 8)")
    assert (p.outputs, p.name, p.args, p.error) == (("R1",), "Calculator", "15 * 8", None)


def test_parse_multiple_outputs():
    p = parse_action("R5, R6 = SolveEquation(R2=xy, R3=x/y)")
    assert p.outputs == ("R5", "R6")
    assert p.args == "R2=xy, R3=x/y"


def test_parse_nested_parentheses_and_function_style():
    p = parse_action("Output = Calculator(R4(R5, R6))")
    assert (p.outputs, p.args) == (("Output",), "R4(R5, R6)")
    assert parse_action("R1 = Calculator(((1 + 2) * (3 + 4)))").args == "((1 + 2) * (3 + 4))"


def test_parse_annotated_result_is_ignored():
    p = parse_action("R1 = Calculator(2 - 0.5) = 1.5")
    assert p.args == "2 - 0.5" and p.ok


def test_parse_output_passthrough_forms():
    p = parse_action("Output = R9 = 40")
    assert (p.name, p.args, p.outputs) == ("", "R9", ("Output",))
    p = parse_action("Output = R9")
    assert (p.name, p.args) == ("", "R9")


def test_parse_unbalanced_inside_uses_last_parenthesis():
    p = parse_action("R1 = CLICK(Env, QUERY: press the ) key)")
    assert p.ok and p.args == "Env, QUERY: press the ) key"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("Calculator(1 + 2)", "expected"),
        ("R1 Calculator(1 + 2)", "expected"),
        ("R1 = Calculator(1 + 2", "unbalanced"),
        ("R1 = ", "nothing after"),
        ("R1, R1 = SolveEquation(x = 1)", "repeated"),
        ("R1 = Calculator(2)*(3)x", "unexpected text"),
    ],
)
def test_parse_errors_are_values(text, fragment):
    p = parse_action(text)
    assert not p.ok and fragment in p.error


# -- arguments ---------------------------------------------------------------------------------
def test_split_args_respects_brackets_and_quotes():
    assert split_args('[R3, R6], "a, b", f(1, 2)') == ["[R3, R6]", '"a, b"', "f(1, 2)"]
    assert split_args("") == []


def test_fields_mind2web_and_webshop_and_qa():
    a = parse_fields("R2, QUERY: Type Atlanta, GA as the departure, TEXT: Atlanta, GA", ["QUERY", "TEXT"])
    assert a.positional == ["R2"]
    assert a.fields == {"QUERY": "Type Atlanta, GA as the departure", "TEXT": "Atlanta, GA"}
    a = parse_fields(
        "Item_names: R1, Item_features: [R3, R6], Query: red shoes", ["Item_names", "Item_features", "Query"]
    )
    assert a.positional == [] and a.fields["Item_features"] == "[R3, R6]" and a.fields["Query"] == "red shoes"
    a = parse_fields("[R2], question: How many kids?", ["Question"])
    assert a.positional == ["[R2]"] and a.fields == {"Question": "How many kids?"}


def test_fields_inside_brackets_are_not_labels_and_quotes_are_stripped():
    a = parse_fields('"env: x", QUERY: "click it"', ["QUERY", "env"])
    assert a.positional == ["env: x"] and a.fields == {"QUERY": "click it"}


# -- variables ---------------------------------------------------------------------------------
def test_find_variables_is_boundary_aware():
    assert find_variables("R1 + R10 * R1 - PR2 + R3x + (R4)") == ["R1", "R10", "R3", "R4"]


def test_substitute_r1_never_touches_r10():
    store = VariableStore()
    store["R1"] = "5"
    store["R10"] = "7"
    assert substitute("R1 + R10 + R1", store).text == "5 + 7 + 5"


def test_substitute_reports_missing_and_uses_renderer():
    store = VariableStore()
    store["R2"] = 3
    sub = substitute("R2 * R3", store, render=lambda n, v: f"({v})")
    assert sub.text == "(3) * R3" and sub.missing == ["R3"] and not sub.ok


def test_store_final_prefers_output_then_highest_number():
    s = VariableStore()
    assert s.final() is None
    s["R2"] = "a"
    s["R10"] = "b"
    s["R9"] = "c"
    assert s.final() == "b" and s.highest() == "R10"
    s["Output"] = "o"
    assert s.final() == "o" and s.final(prefer_output=False) == "b"


# -- generic executor --------------------------------------------------------------------------
def _executor() -> ToolExecutor:
    def echo(p, store):
        return [substitute(p.args, store).text]

    def pair(p, store):
        return ["1", "2"]

    def boom(p, store):
        raise RuntimeError("kaboom")

    def fails(p, store):
        raise ToolError("no result")

    def picky(p, store):
        raise InvalidAction("bad field")

    return ToolExecutor(
        [
            Tool("Echo", echo),
            Tool("Pair", pair, max_outputs=None),
            Tool("Boom", boom),
            Tool("Fails", fails),
            Tool("Picky", picky),
            Tool("Free", echo, check_variables=False),
        ]
    )


def test_executor_runs_and_stores():
    ex = _executor()
    res = ex.execute("R1 = Echo(hello); R2 = Echo(R1 world); R3, R4 = Pair(x)")
    assert [r.result for r in res] == ["hello", "hello world", "1, 2"]
    assert all(r.ok for r in res)
    assert ex.final_answer() == "2"


@pytest.mark.parametrize(
    "line, kind, fragment",
    [
        ("R1 = Nope(1)", "invalid_action", "unknown action"),
        ("R1 = Ech(1)", "invalid_action", "did you mean Echo"),
        ("R1, R2 = Echo(1)", "invalid_action", "assigns 1"),
        ("R1 = Echo()", "invalid_action", "needs an argument"),
        ("R1 = Echo(R7)", "invalid_action", "undefined variable(s): R7"),
        ("R1 = Boom(1)", "tool_error", "RuntimeError: kaboom"),
        ("R1 = Fails(1)", "tool_error", "no result"),
        ("R1 = Picky(1)", "invalid_action", "bad field"),
        ("R1, R2, R3 = Pair(1)", "tool_error", "2 value(s) for 3"),
        ("garbage", "invalid_action", "expected"),
        ("R20 = Echo", "invalid_action", "Echo without '(arguments)' (output cut off?)"),
        ("R20 = Pick", "invalid_action", "Picky without '(arguments)'"),
    ],
)
def test_executor_errors_become_observations(line, kind, fragment):
    res = _executor().execute(line)
    assert len(res) == 1
    assert res[0].error_kind == kind and fragment in res[0].error


def test_executor_check_variables_off_and_passthrough():
    ex = _executor()
    assert ex.execute("R1 = Free(What is R2-D2?)")[0].result == "What is R2-D2?"
    ex.execute("R2 = Echo(v)")
    assert ex.execute("Output = R2")[0].result == "v"
    assert ex.final_answer() == "v"
    assert ex.execute("Output = Ech")[0].result == "Ech"  # a short word is a value, not a cut-off tool name


def test_executor_empty_line_and_non_string():
    ex = _executor()
    assert ex.execute("")[0].error_kind == "invalid_action"
    assert ex.execute(None)[0].error_kind == "invalid_action"  # type: ignore[arg-type]


def test_parse_actions_mixes_good_and_bad():
    ps = parse_actions("R1 = Echo(1); oops; R2 = Echo(2)")
    assert [p.ok for p in ps] == [True, False, True]
