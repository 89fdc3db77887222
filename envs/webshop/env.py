"""The ``webshop`` environment: goals from a real WebShop server, Lumos tools, the WebShop reward.

Splits (goal indices after upstream's seed-233 shuffle): ``test`` = human goals 0-499 (the standard
split), ``dev`` = 500-1499, ``train`` = 1500 on, ``lumos_synthetic`` = synthetic goals 0-499 (what
Lumos' script evaluates, SPEC g.2). The standard numbers need the full catalogue
(``catalogue: all``); the small set (``items_*_1000.json``) yields a different goal list.

Options (``--config`` ``env: {webshop: {...}}``): ``catalogue`` (small | all), ``files_dir`` (a folder
holding the WebShop files directly, e.g. the test fixtures), ``search_backend`` (bm25s | pyserini),
``price_seed`` (4), ``tagger`` (en_core_web_sm), ``matcher`` (minilm | a CrossEncoder id),
``server_url`` (use an already running server instead of starting one), ``startup_timeout``,
``line_budget_s`` / ``max_actions`` (:class:`envs.tool_executor.LineLimits`). Options that change
behaviour and differ from their defaults enter the run identity (``Environment.identity_options``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from envs.tool_executor import LINE_OPTIONS, line_limits
from harness.data import DataFile, DataFormatError, DataMissingError, checksum_files
from harness.environment import Environment, Executor
from harness.options import EnvOption
from harness.records import Task, ToolSpec, Trajectory

log = logging.getLogger(__name__)

_DRIVE = "https://drive.google.com/uc?export=download&id="
SMALL = {
    "items": ("items_shuffle_1000.json", _DRIVE + "1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib", None),
    "attrs": (
        "items_ins_v2_1000.json",
        _DRIVE + "1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu",
        "f88a36314a397b53b3d9c3fa5878e5f7b26d35019a51ec83fbedeca61a948f6f",
    ),
}
FULL = {
    "items": ("items_shuffle.json", _DRIVE + "1A2whVgOO0euk5O13n2iYDM0bQRkkRduB", None),
    "attrs": ("items_ins_v2.json", _DRIVE + "1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi", None),
}
HUMAN = ("items_human_ins.json", _DRIVE + "14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O", None)
SPLITS = {"test": ("human", 0, 500), "dev": ("human", 500, 1500), "train": ("human", 1500, None),
          "lumos_synthetic": ("synthetic", 0, 500)}  # fmt: skip


class WebShop(Environment):
    name = "webshop"
    domain = "web"
    version = "2"
    """2: thefuzz 0.19.0 processing and the official tuple goal options in the reward (issue 16.3, 16.4)."""
    splits = tuple(SPLITS)
    default_split = "test"
    main_metric = "reward"
    mode = "iterative"
    max_rounds = 5
    """Lumos runs 10 half-rounds (5 plan + 5 ground)."""
    description = "WebShop (Yao et al. 2022): buy the product a goal describes on a simulated shop; reward in [0, 1]."
    options_spec = {
        "catalogue": EnvOption(str, "product catalogue", choices=("small", "all"), default="small"),
        "files_dir": EnvOption(str, "folder holding the WebShop files directly", identity=False),
        "search_backend": EnvOption(str, "bm25s | pyserini", default="bm25s"),
        "price_seed": EnvOption(int, "seed of the product prices", default=4),
        "tagger": EnvOption(str, "noun tagger of the reward", default="en_core_web_sm"),
        "matcher": EnvOption(str, "FeatureRetrieve/Pick similarity model", default="minilm"),
        "server_url": EnvOption(str, "an already running WebShop server", identity=False),
        "startup_timeout": EnvOption(float, "seconds to wait for the server", identity=False),
        **LINE_OPTIONS,
    }

    def __init__(self, data_dir: str | Path | None = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        self.catalogue = str(options.get("catalogue", "small"))
        if self.catalogue not in ("small", "all"):
            raise ValueError("webshop option 'catalogue' must be 'small' or 'all'")
        files_dir = options.get("files_dir")
        self.files_dir = Path(files_dir).expanduser().resolve() if files_dir else self.data_dir / "webshop"
        self.limits = line_limits(options)
        self._server: Any = None
        self._client: Any = None
        self._matcher: Any = None
        self._info: dict[str, Any] = {}

    # -- data -------------------------------------------------------------------------------
    def _files(self) -> dict[str, Path]:
        names = SMALL if self.catalogue == "small" else FULL
        return {
            "items": self.files_dir / names["items"][0],
            "attrs": self.files_dir / names["attrs"][0],
            "human": self.files_dir / HUMAN[0],
        }

    def data_files(self) -> list[DataFile]:
        out = []
        for table, required in ((SMALL, self.catalogue == "small"), (FULL, self.catalogue == "all")):
            for fname, url, sha in table.values():
                out.append(DataFile(f"webshop/{fname}", url=url, sha256=sha, required=required))
        out.append(DataFile(f"webshop/{HUMAN[0]}", url=HUMAN[1], required=True))
        return out

    def self_check(self) -> list[str]:
        from envs.webshop.tagger import TaggerUnavailableError, _resolve

        problems = [f"missing data file {p}" for p in self._files().values() if not p.exists()]
        try:
            _resolve(str(self.options.get("tagger", "en_core_web_sm")))
        except TaggerUnavailableError as exc:
            problems.append(str(exc))
        return problems

    def _require_files(self) -> dict[str, Path]:
        files = self._files()
        missing = [p.name for p in files.values() if not p.exists()]
        if missing:
            raise DataMissingError(
                f"missing WebShop file(s) {', '.join(missing)} in {self.files_dir}: run `harness data download webshop` "
                f"(WebShop's setup.sh -d {self.catalogue}) or point --data-dir / env option files_dir at a folder holding them"
            )
        return files

    def data_checksum(self, split: str) -> str | None:
        files = self._require_files()
        paths = [files["attrs"], files["human"]] + ([files["items"]] if self.catalogue == "small" else [])
        return checksum_files(paths)

    # -- server -----------------------------------------------------------------------------
    def _ensure_server(self) -> Any:
        from envs.webshop.server import ServerProcess, ServerStartError
        from envs.webshop.tools import Matcher, WebShopClient

        if self._client is not None and (self._server is None or self._server.alive()):
            return self._client
        url = self.options.get("server_url")
        if not url:
            files = self._require_files()
            args = ["--items", str(files["items"]), "--attrs", str(files["attrs"]), "--human", str(files["human"])]
            reviews = self.files_dir / "reviews.json"
            if reviews.exists():
                args += ["--reviews", str(reviews)]
            for opt, flag in (("search_backend", "--search-backend"), ("price_seed", "--price-seed"), ("tagger", "--tagger")):
                if opt in self.options:
                    args += [flag, str(self.options[opt])]
            try:
                self._server = ServerProcess(args, startup_timeout=float(self.options.get("startup_timeout", 600))).start()
            except ServerStartError as exc:  # a bad data file: the one line the server died with, naming it
                prefix = "harness.data.DataFormatError: "
                if exc.reason.startswith(prefix):
                    raise DataFormatError(exc.reason.removeprefix(prefix)) from exc
                raise
            url = self._server.url
        self._client = WebShopClient(url)
        self._info = self._client.info()
        self._matcher = Matcher(str(self.options.get("matcher", "minilm")))
        return self._client

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server, self._client = None, None

    # -- tasks ------------------------------------------------------------------------------
    def load(self, split: str, limit: int | None = None) -> list[Task]:
        if split not in SPLITS:
            raise ValueError(f"webshop has no split '{split}'; choose from {', '.join(SPLITS)}")
        kind, start, stop = SPLITS[split]
        client = self._ensure_server()
        total = self._info["goals"][kind]
        stop = total if stop is None else min(stop, total)
        if limit is not None:
            stop = min(stop, start + limit)
        goals = client.goals(kind, start, stop)["goals"] if stop > start else []
        return [self._task(kind, g) for g in goals]

    @staticmethod
    def _task(kind: str, g: dict[str, Any]) -> Task:
        from envs.webshop.oracle import gold_trajectory

        plan, actions = gold_trajectory(g)
        gold = {k: g[k] for k in ("asin", "goal_options", "attributes", "price_upper", "name", "query", "product_category")}
        return Task(
            id=f"{kind}-{g['index']}",
            question=g["instruction_text"],
            gold=gold,
            gold_plan=plan,
            gold_actions=actions,
            meta={"goal_index": g["index"], "goal_kind": kind, "weight": g.get("weight", 1)},
        )

    def tools(self) -> list[ToolSpec]:
        return [
            ToolSpec(name="Search", signature="Search(Query)", description="Search related items according to the Query"),
            ToolSpec(
                name="FeatureRetrieve",
                signature="FeatureRetrieve(Feature_list, Query)",
                description="Select the most relevant features from Feature_list according to Query",
            ),
            ToolSpec(
                name="Pick",
                signature="Pick(Item_names, Item_features, Query)",
                description="Pick the most relevant item from Item_names according to Query, Item_names and Item_features",
            ),
            ToolSpec(name="Click", signature="Click(Item)", description="Click the Item to check more information."),
        ]

    def session(self, task: Task) -> Executor:
        from envs.webshop.tools import WebShopExecutor

        client = self._ensure_server()
        ex = WebShopExecutor(client, int(task.meta["goal_index"]), str(task.meta["goal_kind"]), self._matcher)
        ex.limits = self.limits
        return ex

    # -- scoring ----------------------------------------------------------------------------
    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        info: dict[str, Any] = {}
        if trajectory.final_answer:
            try:
                info = json.loads(trajectory.final_answer)
            except ValueError:
                info = {}
        bought = bool(info.get("done"))
        reward = float(info.get("reward") or 0.0) if bought else 0.0
        return {
            "reward": reward,
            "score": 100.0 * reward,
            "success": float(reward >= 1.0 - 1e-9),
            "purchased": float(bought),
            "right_product": float(bought and info.get("asin") == task.gold.get("asin")),
        }

    def notes(self, split: str) -> list[str]:
        kind = SPLITS.get(split, ("human",))[0]
        n_products = self._info.get("products")
        notes = [
            f"WebShop {kind} goals, catalogue '{self.catalogue}' ({n_products} products); search "
            f"{self._info.get('search_backend', self.options.get('search_backend', 'bm25s'))} (Lucene BM25 in the original); "
            f"title-score tagger: {self._info.get('tagger', '?')}; price seed {self._info.get('price_seed', 4)}; "
            f"FeatureRetrieve/Pick similarity: {self.options.get('matcher', 'minilm')} (Lumos: cross-encoder/stsb-roberta-large)",
            "score = mean reward over all N goals (unfinished episodes count 0; Lumos divides by finished episodes)",
            "reward = web_agent_site/engine/goal.py get_reward: fuzzy matching is thefuzz 0.19.0's token_set_ratio "
            "(WebShop's pin; deletes only U+0080-U+00FF, keeps '_'); synthetic goals' options are compared as "
            "official (name, value) tuples, not colour-normalised, as goal_options.items() passes them",
        ]
        if (n_products not in (None, 1000) and self.catalogue == "small") or "fixtures" in str(self.files_dir):
            notes.insert(0, f"FIXTURE catalogue ({n_products} products, {self.files_dir}): not a benchmark number")
        elif self.catalogue == "small":
            notes.append("1,000-product catalogue: the goal list differs from the standard full-catalogue test split")
        if kind == "synthetic":
            notes.append("synthetic goals, as Lumos' released script; the standard WebShop test split is human goals 0-499")
        return notes
