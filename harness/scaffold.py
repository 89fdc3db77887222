"""``harness new-env NAME --domain math|qa|web``: a plug-in package that passes its own test at once.

The package is what ``docs/plugins.md`` walks through: ``pyproject.toml`` with the entry point and
the harness as a dependency, an environment class built only on :mod:`harness.kit`, a small data
file and few-shot exemplars shipped inside the package, and a test using :mod:`harness.testing`.
The templates are plain strings with ``{name}``-style fields; each domain reuses the kit's tools.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DOMAINS = ("math", "qa", "web")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ScaffoldError(ValueError):
    """A bad name or an existing target folder (reported as one line)."""


PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{title}: a {domain} benchmark plug-in for moat-harness"
requires-python = ">=3.11"
dependencies = ["moat-harness>=0.1"]

[project.entry-points."harness.envs"]
{name} = "{name}.env:{cls}"

[tool.setuptools]
packages = ["{name}"]

[tool.setuptools.package-data]
{name} = ["data/*.jsonl"]

[tool.pytest.ini_options]
pythonpath = ["."]
"""

README = """# {dist}

A {domain} benchmark plug-in for moat-harness, made with `harness new-env {name} --domain {domain}`.

```bash
pip install -e .                  # registers the entry point harness.envs:{name}
pytest -q                         # the same check as `harness doctor {name}`
harness doctor {name}
harness eval --agents oracle --benchmarks {name} --output-dir runs
harness leaderboard --runs runs --no-reported
```

Edit `{name}/data/test.jsonl` (the tasks) and `{name}/data/exemplars.jsonl` (few-shot examples);
bump `version` in `{name}/env.py` whenever data or scoring change. See docs/plugins.md of the harness.
"""

TEST = """from harness.testing import assert_env_ok

from {name}.env import {cls}


def test_{name}_passes_the_harness_check():
    # loads a few tasks, replays their gold trajectories with the oracle, checks score()
    assert_env_ok({cls}, limit=5{min_oracle})
"""

MATH_ENV = '''"""{title}: maths word problems solved with the harness's maths tools (Calculator, SetEquation,
SolveEquation, ..., sandboxed Code). Tasks and exemplars ship inside this package."""

from __future__ import annotations

from harness import kit

PACKAGE = "{name}"


class {cls}(kit.MathEnvironment):
    name = "{name}"
    version = "0.1.0"  # bump when data or scoring change: leaderboards refuse to mix versions
    splits = ("test",)
    default_split = "test"
    main_metric = "em_numeric"
    metrics = ("em_numeric", "em_strict")
    description = "{title} word problems"

    def data_files(self) -> list[kit.DataFile]:
        return [kit.DataFile("data/test.jsonl", package=PACKAGE)]

    def split_file(self, split: str) -> str:
        return "test.jsonl"

    def load(self, split: str, limit: int | None = None) -> list[kit.Task]:
        rows = kit.read_jsonl(self.split_path(split), limit)
        return [
            kit.Task(
                id=f"{name}-{{row['id']}}",
                question=row["question"],
                gold=str(row["answer"]),
                # the equation gives the gold trajectory: one Calculator subgoal per operator
                **kit.gold_fields(kit.equation_trajectory(row["equation"], row["question"])),
            )
            for row in rows
        ]

    def exemplars(self) -> list[kit.Exemplar]:
        return kit.read_exemplars(kit.require_file(self, kit.DataFile("data/exemplars.jsonl", package=PACKAGE)))

    def notes(self, split: str) -> list[str]:
        return super().notes(split) + ["{title}: tasks written by the plug-in author"]
'''

MATH_DATA = [
    {"id": 0, "question": "A farmer has 4 pens with 6 sheep in each. How many sheep are there?", "equation": "4 * 6", "answer": 24},
    {"id": 1, "question": "Mia had 50 stickers and gave away 18. How many does she have now?", "equation": "50 - 18", "answer": 32},
    {"id": 2, "question": "A box holds 12 eggs. How many eggs are in 5 boxes and 3 loose eggs?", "equation": "( 12 * 5 ) + 3", "answer": 63},
    {"id": 3, "question": "72 cookies are packed 8 to a bag. How many bags are needed?", "equation": "72 / 8", "answer": 9},
    {"id": 4, "question": "Leo saves 15 dollars a week for 4 weeks and spends 20. How much is left?", "equation": "( 15 * 4 ) - 20", "answer": 40},
]
MATH_EXEMPLARS = [
    {"question": "Sam buys 3 packs of 10 pencils and loses 7. How many pencils does he have?",
     "subgoals": ["Calculate the pencils in the packs.", "Calculate the pencils left after losing 7."],
     "actions": ["R1 = Calculator(3 * 10)", "R2 = Calculator(R1 - 7)"], "results": ["30", "23"]},
    {"question": "A train travels 60 km an hour for 3 hours. How far does it go?",
     "subgoals": ["Calculate the distance travelled in 3 hours."],
     "actions": ["R1 = Calculator(60 * 3)"], "results": ["180"]},
]

QA_ENV = '''"""{title}: questions answered from a small knowledge base shipped inside this package, with
the harness's complex-QA tools (KnowledgeQuery = BM25 over the pages, ParagraphRetrieve = MiniLM
re-ranking, QA = the local reader model, Calculator, Code)."""

from __future__ import annotations

from typing import Any

from harness import kit

PACKAGE = "{name}"
PAGES = kit.DataFile("data/pages.jsonl", package=PACKAGE)


class {cls}(kit.QAEnvironment):
    name = "{name}"
    version = "0.1.0"  # bump when data or scoring change: leaderboards refuse to mix versions
    splits = ("test",)
    default_split = "test"
    main_metric = "em"
    metrics = ("em", "f1")
    mode = "iterative"
    max_rounds = 4
    description = "{title} questions over a packaged knowledge base"

    def __init__(self, data_dir: Any = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        if "knowledge" not in options:  # the pages shipped with this package, not the HotpotQA corpus
            self.knowledge_spec = str(kit.require_file(self, PAGES))

    def data_files(self) -> list[kit.DataFile]:
        return [kit.DataFile("data/test.jsonl", package=PACKAGE), PAGES]

    def split_files(self, split: str) -> list[Any]:
        return [kit.require_file(self, self.data_files()[0]), kit.require_file(self, PAGES)]

    def load(self, split: str, limit: int | None = None) -> list[kit.Task]:
        tasks = []
        for row in kit.read_jsonl(self.split_files(split)[0], limit):
            q = row["question"]
            tasks.append(kit.Task(
                id=f"{name}-{{row['id']}}", question=q, gold=row["answer"],
                gold_plan=[f"Find out about {{row['title']}} to answer the question."],
                gold_actions=[f"R1 = KnowledgeQuery({{row['title']}}); R2 = ParagraphRetrieve(R1, Query: {{q}}); "
                              f"R3 = QA([R2], Question: {{q}})"],
            ))
        return tasks

    def score(self, task: kit.Task, trajectory: kit.Trajectory) -> dict[str, float]:
        pred = trajectory.final_answer
        return {{"em": kit.exact_match(pred, str(task.gold)), "f1": kit.f1_score(pred, str(task.gold))}}

    def exemplars(self) -> list[kit.Exemplar]:
        return kit.read_exemplars(kit.require_file(self, kit.DataFile("data/exemplars.jsonl", package=PACKAGE)))

    def notes(self, split: str) -> list[str]:
        return self.common_notes()
'''

QA_DATA = [
    {"id": 0, "title": "Lake Baikal", "question": "In which country is Lake Baikal?", "answer": "Russia"},
    {"id": 1, "title": "Mount Kilimanjaro", "question": "In which country is Mount Kilimanjaro?", "answer": "Tanzania"},
    {"id": 2, "title": "Amazon River", "question": "Into which ocean does the Amazon River flow?", "answer": "Atlantic Ocean"},
]
QA_PAGES = [
    {"title": "Lake Baikal", "text": "Lake Baikal is a rift lake in Russia. It is the deepest lake in the world."},
    {"title": "Mount Kilimanjaro", "text": "Mount Kilimanjaro is a dormant volcano in Tanzania. It is the highest "
                                           "mountain in Africa."},
    {"title": "Amazon River", "text": "The Amazon River in South America flows into the Atlantic Ocean. It is the "
                                      "largest river by discharge."},
]
QA_EXEMPLARS = [
    {"question": "Which city is the capital of the country where the Danube ends?",
     "subgoals": ["Find out in which country the Danube ends.", "Find out the capital of that country."],
     "actions": ["R1 = KnowledgeQuery(Danube); R2 = ParagraphRetrieve(R1, Query: Where does the Danube end?); "
                 "R3 = QA([R2], Question: In which country does the Danube end?)",
                 "R4 = KnowledgeQuery(Romania); R5 = ParagraphRetrieve(R4, Query: What is the capital of Romania?); "
                 "R6 = QA([R5], Question: What is the capital of Romania?)"],
     "results": ["Romania", "Bucharest"]},
]

WEB_ENV = '''"""{title}: pick the page element an instruction asks for. ``CLICK(Env, QUERY: ...)`` ranks the
page's elements with the harness's web ranker (MiniLM + BM25, offline) and clicks the best one."""

from __future__ import annotations

from typing import Any

from harness import kit

PACKAGE = "{name}"


class _Session(kit.ToolExecutor):
    def __init__(self, env: "{cls}", task: kit.Task) -> None:
        self.env, self.task, self.clicked = env, task, None
        super().__init__([kit.Tool("CLICK", self._click)])

    def _click(self, action: kit.ParsedAction, store: kit.VariableStore) -> list[str]:
        query = kit.parse_fields(action.args, ["QUERY"]).fields.get("QUERY")
        if not query:
            raise kit.InvalidAction("CLICK needs QUERY: <what to click>")
        elements = self.task.meta["elements"]
        best = kit.rank(self.env.ranker(), query, [e["text"] for e in elements])[0]
        self.clicked = elements[best]["id"]
        return [elements[best]["text"]]

    def final_answer(self) -> str | None:
        return self.clicked


class {cls}(kit.Environment):
    name = "{name}"
    domain = "web"
    version = "0.1.0"  # bump when data or scoring change: leaderboards refuse to mix versions
    splits = ("test",)
    default_split = "test"
    main_metric = "element_acc"
    metrics = ("element_acc",)
    mode = "iterative"
    max_rounds = 3
    description = "{title}: click the element an instruction names"

    def __init__(self, data_dir: Any = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        self._ranker: kit.Ranker | None = None

    def ranker(self) -> kit.Ranker:
        if self._ranker is None:
            self._ranker = kit.make_ranker(self.options.get("ranker"))  # None = MiniLM + BM25
        return self._ranker

    def data_files(self) -> list[kit.DataFile]:
        return [kit.DataFile("data/test.jsonl", package=PACKAGE)]

    def data_checksum(self, split: str) -> str | None:
        return kit.checksum_files([kit.require_file(self, self.data_files()[0])])

    def load(self, split: str, limit: int | None = None) -> list[kit.Task]:
        rows = kit.read_jsonl(kit.require_file(self, self.data_files()[0]), limit)
        return [kit.Task(id=f"{name}-{{r['id']}}", question=r["instruction"], gold=r["target"],
                         gold_plan=[r["instruction"]], gold_actions=[f"R1 = CLICK(Env, QUERY: {{r['instruction']}})"],
                         meta={{"elements": r["elements"]}}) for r in rows]

    def tools(self) -> list[kit.ToolSpec]:
        return [kit.ToolSpec(name="CLICK", signature="CLICK(Env, QUERY)",
                             description="Click the element of the page Env that matches QUERY.")]

    def session(self, task: kit.Task) -> kit.Executor:
        return _Session(self, task)

    def score(self, task: kit.Task, trajectory: kit.Trajectory) -> dict[str, float]:
        return {{"element_acc": float(trajectory.final_answer == task.gold)}}

    def exemplars(self) -> list[kit.Exemplar]:
        return kit.read_exemplars(kit.require_file(self, kit.DataFile("data/exemplars.jsonl", package=PACKAGE)))
'''

WEB_DATA = [
    {"id": 0, "instruction": "Open the shopping cart", "target": "e2",
     "elements": [{"id": "e1", "text": "button Sign in"}, {"id": "e2", "text": "link Shopping cart (2 items)"},
                  {"id": "e3", "text": "input Search products"}]},
    {"id": 1, "instruction": "Search for hiking boots", "target": "e3",
     "elements": [{"id": "e1", "text": "link Help and contact"}, {"id": "e2", "text": "button Newsletter sign up"},
                  {"id": "e3", "text": "input Search products"}]},
    {"id": 2, "instruction": "Sign in to my account", "target": "e1",
     "elements": [{"id": "e1", "text": "button Sign in to your account"}, {"id": "e2", "text": "link Gift cards"},
                  {"id": "e3", "text": "link Store locator"}]},
]
WEB_EXEMPLARS = [
    {"question": "Show the order history",
     "subgoals": ["Click on the order history link."],
     "actions": ["R1 = CLICK(Env, QUERY: Click on the order history link)"], "results": ["link Your orders"]},
]

TEMPLATES = {
    "math": (MATH_ENV, MATH_DATA, MATH_EXEMPLARS, {}, ", min_oracle=1.0"),
    "qa": (QA_ENV, QA_DATA, QA_EXEMPLARS, {"pages.jsonl": QA_PAGES}, ""),
    "web": (WEB_ENV, WEB_DATA, WEB_EXEMPLARS, {}, ""),
}


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def scaffold(name: str, domain: str, out: Path) -> list[Path]:
    """Write the plug-in package for ``name`` into ``out``; returns the files written."""
    if not NAME_RE.match(name):
        raise ScaffoldError(f"environment name {name!r} must be a lower-case Python identifier "
                            "(letters, digits, _; 2-41 characters, starting with a letter)")
    if domain not in DOMAINS:
        raise ScaffoldError(f"--domain must be one of {', '.join(DOMAINS)}, not {domain!r}")
    if out.exists() and any(out.iterdir()):
        raise ScaffoldError(f"{out} exists and is not empty; choose another --out")
    env_t, data, shots, extra, min_oracle = TEMPLATES[domain]
    fields = {
        "name": name, "domain": domain, "dist": name.replace("_", "-"),
        "cls": "".join(part.capitalize() for part in name.split("_")),
        "title": name.replace("_", " ").title(), "min_oracle": min_oracle,
    }
    files = {
        "pyproject.toml": PYPROJECT.format(**fields),
        "README.md": README.format(**fields),
        f"{name}/__init__.py": f'"""The {fields["title"]} benchmark plug-in (entry point harness.envs:{name})."""\n',
        f"{name}/env.py": env_t.format(**fields),
        f"{name}/data/test.jsonl": _jsonl(data),
        f"{name}/data/exemplars.jsonl": _jsonl(shots),
        f"tests/test_{name}.py": TEST.format(**fields),
    }
    files |= {f"{name}/data/{fname}": _jsonl(rows) for fname, rows in extra.items()}
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
