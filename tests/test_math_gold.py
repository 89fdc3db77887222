"""The GSM8K annotation -> Lumos converter and the SVAMP Equation converter (hand-written cases)."""

from __future__ import annotations

import pytest

from envs.math.gold import gold_leaks, gsm8k_trajectory, svamp_trajectory
from envs.math.solution_text import eval_arith, expression_before, number, steps


def test_basic_annotations_become_chained_calculator_actions():
    t = gsm8k_trajectory(
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?",
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether "
        "in April and May.\n#### 72",
    )
    assert t.actions == ["R1 = Calculator(48 / 2)", "R2 = Calculator(48 + R1)"]
    assert t.subgoals == ["Natalia sold R1 clips in May.", "Natalia sold R2 clips altogether in April and May."]
    assert t.results == ["24", "72"]


def test_several_computations_on_one_line_share_a_subgoal():
    t = gsm8k_trajectory("q 3 and 4", "A is 3*4=<<3*4=12>>12 and B is 12+1=<<12+1=13>>13.\n#### 13")
    assert t.actions == ["R1 = Calculator(3 * 4); R2 = Calculator(R1 + 1)"]
    assert len(t.subgoals) == 1


def test_question_numbers_stay_literals_and_rounded_results_are_not_substituted():
    # 10/3 is stated as 3.33 (rounded): later uses keep the literal so values match the solution
    t = gsm8k_trajectory(
        "10 apples, 3 kids, 2 each", "Each gets 10/3=<<10/3=3.33>>3.33.\nTwice: 3.33*2=<<3.33*2=6.66>>6.66\n#### 6.66"
    )
    assert t.actions == ["R1 = Calculator(10 / 3)", "R2 = Calculator(3.33 * 2)"]
    # an earlier result equal to a question number: the question number wins
    t = gsm8k_trajectory("She has 2 cats and 4 dogs", "4/2=<<4/2=2>>2\n2*3=<<2*3=6>>6\n#### 6")
    assert t.actions[1] == "R2 = Calculator(2 * 3)"


def test_equal_results_map_to_distinct_variables():
    t = gsm8k_trajectory("q", "a 3*1/2=<<3*1/2=1.5>>1.5\nb 6/4=<<6/4=1.5>>1.5\nc 1.5+1.5+4=<<1.5+1.5+4=7>>7\n#### 7")
    assert t.actions[-1] == "R3 = Calculator(R2 + R1 + 4)"


def test_unannotated_text_arithmetic_with_units_and_dashes():
    t = gsm8k_trajectory(
        "q",
        "The ice cream is 10 × $4 = $<<10*4=40>>40.\nThe yoghurt is 4 × $1 = $<<4*1=4>>4.\n"
        "Caleb spent $40 − $4 = $36 more.\nIt drove 23 total meters – 13 calculated meters = 10 meters.\n#### 36",
    )
    assert t.actions[2] == "R3 = Calculator(R1 - R2)"
    assert t.actions[3] == "R4 = Calculator(23 - 13)"
    assert t.inline == 2


def test_word_operators_and_mixed_numbers():
    t = gsm8k_trajectory("q", "7 minus 6 equals 1\nShe needs 2 + 1 1/2 = 3 1/2 feet.\n#### 3.5")
    assert t.actions == ["R1 = Calculator(7 - 6)", "R2 = Calculator(2 + 1.5)"]
    t = gsm8k_trajectory("q", "She needs 2 + 2 1/3 = 4 1/3 feet.\n#### 4.33")
    assert t.actions == ["R1 = Calculator(2 + (7 / 3))"]


def test_value_only_annotation_uses_the_written_arithmetic_and_trivial_ones_too():
    t = gsm8k_trajectory("q", "He spent 2 - .5 = <<2-.5=1.5>>1.5\nHe bought 1.5 / .25 = <<6=6>>6 ounces\n#### 6")
    assert t.actions == ["R1 = Calculator(2 - 0.5)", "R2 = Calculator(R1 / 0.25)"]
    t = gsm8k_trajectory("120 flats", "So 102 - 72 = <<30*1=30>>30 apartments\n#### 30")
    assert t.actions == ["R1 = Calculator(102 - 72)"]


def test_algebra_step_becomes_solve_equation():
    t = gsm8k_trajectory(
        "56 animals",
        "Let x be the number of goats\nTotal:x+4+x+8+2x=56\n4x+12=56\n4x=44\nx=<<11=11>>11 goats\n#### 11",
    )
    assert t.actions == ["R1 = SolveEquation(4x = 44)"]
    t = gsm8k_trajectory("q", "X*2 - $40 = $250.\nwe get X*2 = $290.\nDividing, we get X = $145.\n#### 145")
    assert t.actions == ["R1 = SolveEquation(X*2 = 290)"]


def test_value_with_nothing_to_compute_is_never_an_action():
    t = gsm8k_trajectory("q", "Think hard.\nThe answer is x=<<26=26>>26\n#### 26")
    assert t is None
    t = gsm8k_trajectory("q", "a 2*3=<<2*3=6>>6\nso x=<<26=26>>26\n#### 26")
    assert t.actions == ["R1 = Calculator(2 * 3)"]
    assert not gold_leaks(t.actions, "26")


def test_no_computation_gives_none():
    assert gsm8k_trajectory("q", "It is obvious.\n#### 4") is None


def test_gold_leaks_detects_bare_answers_only():
    assert gold_leaks(["R1 = Calculator(26)"], "26")
    assert gold_leaks(["R1 = Calculator(2 * 3)", "R2 = Calculator(1,000)"], "1000")
    assert not gold_leaks(["R1 = Calculator(13 * 2)"], "26")
    assert not gold_leaks(["R1 = Calculator(R2)"], "26")


def test_helpers():
    assert eval_arith("(600*2)*2") == 2400
    assert eval_arith("2**3") is None and eval_arith("1/0") is None and eval_arith("x") is None
    assert number("1 1/2") == number("3/2") == number("1.5")
    assert expression_before("3 crafts * $12/craft ") == (0, "3 * 12")
    text = "ride 30-day pass at least 25+1"
    assert expression_before(text) == (text.index("25"), "25 + 1")
    assert expression_before("Buicks:12+8(26)") == (7, "12 + 8 * ( 26 )")
    assert [s.expr for s in steps("6 + 3 = 9 and then 4x=2")] == ["6 + 3"]


@pytest.mark.parametrize(
    "equation, actions, subgoal_end",
    [
        ("( 76.0 - 25.0 )", ["R1 = Calculator(76 - 25)"], "to answer: How much?"),
        ("( ( 3.0 + 5.0 ) * 2.0 )", ["R1 = Calculator(3 + 5)", "R2 = Calculator(R1 * 2)"], "to answer: How much?"),
        ("( 7.0 / ( 2.0 + 1.5 ) )", ["R1 = Calculator(2 + 1.5)", "R2 = Calculator(7 / R1)"], "to answer: How much?"),
    ],
)
def test_svamp(equation, actions, subgoal_end):
    t = svamp_trajectory(equation, "How much?")
    assert t.actions == actions
    assert t.subgoals[-1].endswith(subgoal_end)
    assert len(t.subgoals) == len(t.actions)


def test_svamp_without_operator_is_refused():
    with pytest.raises(ValueError):
        svamp_trajectory("8.0", "q")
