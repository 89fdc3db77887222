"""Golden tests: the Lumos prompt strings of SPEC a.3-a.5, byte for byte."""

from __future__ import annotations

import warnings

import pytest

from agents import prompts as P
from harness.records import ToolSpec

# SPEC a.4 headers (H, i.e. without the Task line), assembled from the SPEC table cells.
GOLDEN_HEADERS = {
    'math': (
        'Please ground the given subgoal to corresponding executable actions for solving the given task. The '
        "grounded actions must be the one in available action list.\n\nThe available action list is 'Calculator"
        "', 'SetEquation', 'SolveEquation', 'Count', 'SolveInequality', 'Code', and 'Define'.\nCalculator(form"
        'ula): Calculate the input formula; SetEquation(equation): Set up an equation to be solved; SolveEqua'
        'tion(equation): Solve the previous set equation; Count(list): Count the number of elements in the gi'
        'ven list; SolveInequality(inequality): Solve the previous set inequality; Code(pseudo_code): Generat'
        'e a Python function that corresponds to the pseudo code; Define(variable/number): Define a variable '
        'or a number for latter usage.\n\n'
    ),
    'qa': (
        'Please ground the given subgoal to corresponding executable actions for solving the given task. The '
        "grounded actions must be the one in available action list.\n\nThe available action list is 'KnowledgeQ"
        "uery', 'ParagraphRetrieve', 'QA', 'Calculator', and 'Code'.\nCalculator(formula): Calculate the input"
        ' formula; KnowledgeQuery(query): Capture the relevant webpages according to the query; ParagraphRetr'
        'ieve(context, query): Given a query, retrieve the most relevant paragraphs from the given context; Q'
        'A(context, query): Given context, answer the given query; Calculator(formula): Calculate the input f'
        'ormula; Code(pseudo_code): Generate a Python function that corresponds to the pseudo code.\n\n'
    ),
    'mind2web': (
        'Please ground the given subgoal to corresponding executable actions for solving the given task. The '
        "grounded actions must be the one in available action list.\n\nThe available action list is 'CLICK', 'T"
        "YPE', 'SELECT'.\nCLICK(Env, Query): Click the relevant html region in Env according to Query; TYPE(En"
        'v, Query, Text): Type Text into the relevant html region in Env according to Query; SELECT(Env, Quer'
        'y, Text): Select the value Text of the relevant selection box in Env according to Query.\n\n'
    ),
    'webshop': (
        'Please ground the given subgoal to corresponding executable actions for solving the given task. The '
        "grounded actions must be the one in available action list.\n\nThe available action list is 'Search', '"
        "FeatureRetrieve', 'Pick' and 'Click'.\nSearch(Query): Search related items according to the Query; Fe"
        'atureRetrieve(Feature_list, Query): Select the most relevant features from Feature_list according to'
        ' Query; Pick(Item_names, Item_features, Query): Pick the most relevant item from Item_names accordin'
        'g to Query, Item_names and Item_features; Click(Item): Click the Item to check more information.\n\n'
    ),
}


def _tools(*specs: tuple[str, str, str]) -> list[ToolSpec]:
    return [ToolSpec(name=n, signature=s, description=d) for n, s, d in specs]


TOOLS = {
    "math": _tools(
        ("Calculator", "Calculator(formula)", "Calculate the input formula"),
        ("SetEquation", "SetEquation(equation)", "Set up an equation to be solved"),
        ("SolveEquation", "SolveEquation(equation)", "Solve the previous set equation"),
        ("Count", "Count(list)", "Count the number of elements in the given list"),
        ("SolveInequality", "SolveInequality(inequality)", "Solve the previous set inequality"),
        ("Code", "Code(pseudo_code)", "Generate a Python function that corresponds to the pseudo code"),
        ("Define", "Define(variable/number)", "Define a variable or a number for latter usage"),
    ),
    "qa": _tools(
        ("KnowledgeQuery", "KnowledgeQuery(query)", "Capture the relevant webpages according to the query"),
        ("ParagraphRetrieve", "ParagraphRetrieve(context, query)",
         "Given a query, retrieve the most relevant paragraphs from the given context"),
        ("QA", "QA(context, query)", "Given context, answer the given query"),
        ("Calculator", "Calculator(formula)", "Calculate the input formula"),
        ("Code", "Code(pseudo_code)", "Generate a Python function that corresponds to the pseudo code"),
    ),
    "mind2web": _tools(
        ("CLICK", "CLICK(Env, Query)", "Click the relevant html region in Env according to Query"),
        ("TYPE", "TYPE(Env, Query, Text)", "Type Text into the relevant html region in Env according to Query"),
        ("SELECT", "SELECT(Env, Query, Text)",
         "Select the value Text of the relevant selection box in Env according to Query"),
    ),
    "webshop": _tools(
        ("Search", "Search(Query)", "Search related items according to the Query"),
        ("FeatureRetrieve", "FeatureRetrieve(Feature_list, Query)",
         "Select the most relevant features from Feature_list according to Query"),
        ("Pick", "Pick(Item_names, Item_features, Query)",
         "Pick the most relevant item from Item_names according to Query, Item_names and Item_features"),
        ("Click", "Click(Item)", "Click the Item to check more information"),
    ),
}


class _Env:
    def __init__(self, name: str, domain: str) -> None:
        self.name, self.domain = name, domain


@pytest.mark.parametrize("key", sorted(GOLDEN_HEADERS))
def test_header_matches_spec_byte_for_byte(key):
    env = {"math": _Env("gsm8k", "math"), "qa": _Env("hotpotqa", "qa"), "mind2web": _Env("mind2web", "web"),
           "webshop": _Env("webshop", "web")}[key]
    assert P.render_header(TOOLS[key], P.style_for(env)) == GOLDEN_HEADERS[key]


def test_header_quirks_are_what_break_without_styles():
    # the plain maths style would not reproduce the QA duplicate or the web list joins
    assert P.render_header(TOOLS["qa"]) != GOLDEN_HEADERS["qa"]
    assert P.render_header(TOOLS["mind2web"]) != GOLDEN_HEADERS["mind2web"]
    assert P.render_header(TOOLS["webshop"]) != GOLDEN_HEADERS["webshop"]


def test_style_resolution_prefers_attribute_then_name_then_domain():
    class Own(_Env):
        prompt_style = "webshop"

    assert P.style_for(Own("x", "math")) == P.STYLES["webshop"]
    assert P.style_for(_Env("webshop", "web")) == P.STYLES["webshop"]
    assert P.style_for(_Env("mind2web", "web")) == P.STYLES["web"]
    assert P.style_for(_Env("svamp", "math")) == P.STYLES["math"]
    assert P.style_for(_Env("other", "unknown")) == P.STYLES["math"]


REGISTERED = {"gsm8k": "math", "svamp": "math", "hotpotqa": "qa", "strategyqa": "qa", "mind2web": "mind2web",
              "webshop": "webshop"}


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_registered_environment_tools_render_the_spec_header(name):
    """The real environments' ``tools()`` must render the Lumos header exactly."""
    from harness.registry import ENVS, PluginLoadError

    if name not in ENVS:
        pytest.skip(f"{name} is not registered")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = ENVS.get(name)()
    except PluginLoadError as exc:
        pytest.skip(f"{name} not loadable yet: {exc}")
    try:
        assert P.render_header(env.tools(), P.style_for(env)) == GOLDEN_HEADERS[REGISTERED[name]]
    finally:
        env.close()


Q = "  What is 2 + 3?  "
H = GOLDEN_HEADERS["math"]


def test_plan_round_one_and_two_strings():
    msgs = [P.user(P.plan_first_user(Q))]
    assert P.serialize_lumos(msgs) == (
        "<|user|>\nPlease provide a reasonable subgoal-based plan to solve the given task.\n"
        "Task: What is 2 + 3?; Initial Environment Description: None.\n<|assistant|>\n"
    )
    first = P.serialize_lumos(msgs)
    msgs += [P.assistant("Subgoal 1: Add 2 and 3."), P.user(P.plan_feedback(1, "5", "Subgoal 1: Add 2 and 3."))]
    assert P.serialize_lumos(msgs) == first + (
        "Subgoal 1: Add 2 and 3.\n\n<|user|>\nThe executed result for Subgoal 1 is 5. Should we stop planning?"
        "\n<|assistant|>\n"
    )


def test_ground_iterative_strings():
    msgs = [P.user(P.ground_first_user(H, Q, "Subgoal 1: Add 2 and 3."))]
    first = P.serialize_lumos(msgs)
    assert first == "<|user|>\n" + H + "Task: What is 2 + 3? \nSubgoal to be grounded: Subgoal 1: Add 2 and 3.\n<|assistant|>\n"
    msgs += [P.assistant("R1 = Calculator(2 + 3)"), P.user(P.ground_next_user("Subgoal 2: Double it."))]
    assert P.serialize_lumos(msgs) == first + (
        "R1 = Calculator(2 + 3)\n\n<|user|>\nSubgoal to be grounded: Subgoal 2: Double it.\n<|assistant|>\n"
    )


def test_ground_one_pass_string():
    plan = "Subgoal 1: Add 2 and 3.; Subgoal 2: Double it."
    assert P.serialize_lumos([P.user(P.ground_onepass_user(H, Q, plan))]) == (
        "<|user|>\n" + H + "Task: What is 2 + 3? \nSubgoals to be grounded: " + plan + "\n<|assistant|>\n"
    )


def test_qa_later_grounding_turn_quotes_answers():
    text = P.ground_next_user("Subgoal 3: Compare them.",
                              ["Question: How tall is A?; Answer: 330 m", "Question: How tall is B?; Answer: 93 m"])
    assert text == (
        "Subgoal to be grounded: Subgoal 3: Compare them. The grounding could be based on the following results:"
        " The execution result for Subgoal 1 is 330 m The execution result for Subgoal 2 is 93 m"
    )


def test_planner_protocol_helpers():
    assert P.clean_subgoal("No, I will keep planning. Subgoal 2: Double it.") == "Subgoal 2: Double it."
    assert P.clean_subgoal(" Subgoal 1: Add. ") == "Subgoal 1: Add."
    assert P.wants_to_stop("Yes, I will stop planning.")
    assert not P.wants_to_stop("No, I will keep planning. Subgoal 3: x")
    assert P.executed_result("R1 = Calculator(2 + 3)", "5") == "5"
    assert P.executed_result("R1 = SetEquation(x = 3)", "x = 3") == "3"  # Lumos: text after the LAST "="
    assert P.executed_result("R1 = Calculator(1/0)", None) == ""


def test_web_and_webshop_feedback():
    web = P.STYLES["web"]
    assert P.plan_feedback(2, "", "Subgoal 2: Type Boston as the destination...", web) == (
        "We have already type Boston as the destination. Should we stop planning?"
    )
    assert P.plan_feedback(1, "b01 - shirt", "Subgoal 1: Search.", P.STYLES["webshop"]) == (
        "The executed result for Subgoal 1 is b01 - shirt"
    )


def test_serialize_requires_a_final_user_turn():
    with pytest.raises(ValueError):
        P.serialize_lumos([P.user("x"), P.assistant("y")])


EX = P.Exemplar(question="Q1?", subgoals=("Add.", "Set x = R1."), actions=("R1 = Calculator(1 + 2)", "R2 = SetEquation(x = R1)"),
                results=("3", "x = 3"))


def test_fewshot_one_pass_renders_plan_line_and_actions():
    fs = P.FewShot([EX])
    assert fs.plan("one-pass", P.STYLES["math"]) == [
        P.user(P.plan_first_user("Q1?")), P.assistant("Subgoal 1: Add.; Subgoal 2: Set x = R1.")]
    assert fs.ground("one-pass", H, P.STYLES["math"])[1] == P.assistant("R1 = Calculator(1 + 2); R2 = SetEquation(x = R1)")


def test_fewshot_iterative_plan_follows_the_stop_protocol():
    msgs = P.FewShot([EX]).plan("iterative", P.STYLES["math"])
    assert [m["content"] for m in msgs[1:]] == [
        "Subgoal 1: Add.",
        "The executed result for Subgoal 1 is 3. Should we stop planning?",
        "No, I will keep planning. Subgoal 2: Set x = R1.",
        "The executed result for Subgoal 2 is 3. Should we stop planning?",
        "Yes, I will stop planning.",
    ]
    ground = P.FewShot([EX]).ground("iterative", H, P.STYLES["qa"])
    assert ground[2]["content"].endswith("The execution result for Subgoal 1 is 3")
