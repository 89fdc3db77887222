"""Lumos' WebShop tools over HTTP (``allenai/lumos: eval/webshop/shop_tool.py``, SPEC b.1/b.2).

- ``Search(q)``: ``search[q]``; returns the first two results as ``"asin - title ** asin - title"``
  (Lumos takes ``clickables[2:4]``, which assumes a ``Next >`` button; here the first two product
  links of the page, the same thing whenever there are more than 10 results).
- ``Click(x)``: ``click[x]`` (``x`` may be a variable, e.g. ``Click(R7)``); returns the page's
  clickables list, or the reward (a float) when the click ends the episode. Each executor owns one
  server session, so Lumos' replay of earlier actions is unnecessary.
- ``FeatureRetrieve(Rk, Query: q)``: the 3 entries of Rk's clickables after the first 6 (the option
  values of an item page) most similar to ``q``, joined by ``", "``.
- ``Pick(Item_names: R1, Item_features: [R3, R6], Query: q)``: the asin of the item (``"asin - title.
  Available features: ..."``) most similar to ``q``.

Similarity: Lumos uses the cross-encoder ``cross-encoder/stsb-roberta-large``; the default here is
the offline MiniLM bi-encoder (cosine), or any sentence-transformers CrossEncoder given by id/path.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from typing import Any
from urllib.parse import urlencode, urlparse

from envs.actions import (
    InvalidAction,
    ParsedAction,
    ToolError,
    VariableStore,
    find_variables,
    parse_fields,
    substitute,
)
from envs.tool_executor import Tool, ToolExecutor

log = logging.getLogger(__name__)

NAV_BUTTONS = {"back to search", "next >", "< prev"}


class WebShopClient:
    """Minimal JSON client for :mod:`envs.webshop.server` (one keep-alive connection per thread)."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        u = urlparse(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        try:
            out = json.loads(data or b"{}")
        except ValueError:
            out = {"error": data[:200].decode("utf-8", "replace")}
        if resp.status >= 400 or not isinstance(out, dict):
            raise ToolError(f"WebShop server {resp.status}: {out.get('error') if isinstance(out, dict) else out}")
        return out

    def reset(self, goal: int, kind: str = "human") -> dict[str, Any]:
        return self.request("POST", "/api/sessions", {"goal": goal, "kind": kind})

    def step(self, sid: str, action: str) -> dict[str, Any]:
        return self.request("POST", f"/api/sessions/{sid}/step", {"action": action})

    def summary(self, sid: str) -> dict[str, Any]:
        return self.request("GET", f"/api/sessions/{sid}")

    def close_session(self, sid: str) -> None:
        self.request("DELETE", f"/api/sessions/{sid}")

    def goals(self, kind: str, start: int, stop: int) -> dict[str, Any]:
        return self.request("GET", "/api/goals?" + urlencode({"kind": kind, "start": start, "stop": stop}))

    def info(self) -> dict[str, Any]:
        return self.request("GET", "/api/info")


class Clickables(list):
    """A page's clickables (what ``Click`` returns); ``str()`` is the Python list, as in Lumos."""


class Matcher:
    """Scores (query, text) pairs: MiniLM cosine by default, or a CrossEncoder by model id/path."""

    def __init__(self, model: str = "minilm") -> None:
        self.model_name = model
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if self.model_name == "minilm":
                    from envs.web.ranking import load_minilm

                    self._model = load_minilm()
                else:
                    from sentence_transformers import CrossEncoder

                    self._model = CrossEncoder(self.model_name, max_length=512)
        return self._model

    def scores(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        model = self._load()
        if self.model_name == "minilm":
            emb = model.encode([query, *texts], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
            return (emb[1:] @ emb[0]).tolist()
        return [float(s) for s in model.predict([[query, t] for t in texts], show_progress_bar=False)]

    def top(self, query: str, texts: list[str], k: int) -> list[int]:
        s = self.scores(query, texts)
        return sorted(range(len(s)), key=lambda i: (-s[i], i))[:k]


def _query(args: ParsedAction, fields: dict[str, str]) -> str:
    q = fields.get("Query") or fields.get("QUERY")
    if not q:
        raise InvalidAction(f"{args.name} needs 'Query: ...'")
    return q.strip()


class WebShopExecutor(ToolExecutor):
    """One WebShop episode (server session) for one task."""

    def __init__(self, client: WebShopClient, goal: int, kind: str = "human", matcher: Matcher | None = None) -> None:
        self.client = client
        self.matcher = matcher or Matcher()
        state = client.reset(goal, kind)
        self.session_id: str = state["session_id"]
        self.observation: str = state["observation"]
        self.done = False
        self._closed = False
        super().__init__(
            [
                Tool("Search", self._search),
                Tool("Click", self._click),
                Tool("FeatureRetrieve", self._feature_retrieve),
                Tool("Pick", self._pick),
            ]
        )

    def _step(self, action: str) -> dict[str, Any]:
        if self.done:
            raise InvalidAction("the episode has ended (buy now was clicked)")
        state = self.client.step(self.session_id, action)
        self.observation = state["observation"]
        if not state.get("valid", True):
            raise InvalidAction(state.get("message") or f"invalid action {action}")
        self.done = bool(state["done"])
        return state

    def _search(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        query = substitute(p.args, store).text.strip()
        state = self._step(f"search[{query}]")
        segments = state["observation"].split(" [SEP] ")
        items = []
        for asin in [c for c in state["clickables"] if c not in NAV_BUTTONS][:2]:
            try:
                title = segments[segments.index(asin.upper()) + 1]
            except (ValueError, IndexError):
                title = ""
            items.append(f"{asin} - {title}")
        return [" ** ".join(items)]

    def _click(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        target = substitute(p.args, store).text.strip()
        state = self._step(f"click[{target}]")
        if state["done"]:
            return [float(state["reward"])]
        return [Clickables(state["clickables"])]

    def _feature_retrieve(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        a = parse_fields(p.args, ["Query", "QUERY"])
        if not a.positional or a.positional[0] not in store:
            raise InvalidAction("FeatureRetrieve needs a variable holding an item page's clickables first")
        value = store[a.positional[0]]
        if not isinstance(value, list):
            raise InvalidAction(f"{a.positional[0]} is not a clickables list (an item page)")
        features = [str(f) for f in value[6:]]
        idx = self.matcher.top(_query(p, a.fields), features, 3)
        return [", ".join(features[i] for i in idx)]

    def _pick(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        a = parse_fields(p.args, ["Item_names", "Item_features", "Query", "QUERY"])
        names_var = (a.fields.get("Item_names") or "").strip()
        if names_var not in store:
            raise InvalidAction("Pick needs 'Item_names: Rk' naming a Search result")
        items = [i.strip() for i in str(store[names_var]).split(" ** ") if i.strip()]
        if not items:
            raise ToolError("no items to pick from")
        feats = sorted(find_variables(a.fields.get("Item_features", "")), key=lambda v: (len(v), v))  # R2 < R10, no int()
        described = []
        for i, var in enumerate(feats):
            if i < len(items) and isinstance(store.get(var), str):
                described.append(f"{items[i]}. Available features: {store[var]}")
        if not described:
            return [items[0].split(" - ")[0].strip()]
        best = self.matcher.top(_query(p, a.fields), described, 1)[0]
        return [described[best].split(" - ")[0].strip()]

    def final_answer(self) -> str | None:
        try:
            s = self.client.summary(self.session_id)
        except (ToolError, OSError) as exc:
            return json.dumps({"done": self.done, "reward": 0.0, "error": str(exc)})
        return json.dumps({k: s.get(k) for k in ("done", "asin", "options", "price", "reward", "reward_info")})

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close_session(self.session_id)
        except (ToolError, OSError):
            log.debug("could not close WebShop session %s", self.session_id, exc_info=True)
