"""The WebShop simulation behind the Flask app: catalogue, goals, sessions and action semantics.

Semantics follow ``web_agent_site/envs/web_agent_text_env.py`` (``WebAgentTextEnv.step`` +
``SimServer.receive``): ``search[keywords]`` works from any page; ``click[x]`` works only when ``x`` is
a clickable of the current page (else nothing happens and the step is reported invalid);
``click[buy now]`` ends the episode with the reward. One lock per session, so many sessions run
concurrently in the threaded server.

Hostile input: session ids are made here (32 hex digits; an id of another shape is simply unknown),
an action longer than ``MAX_ACTION_CHARS`` is refused as an invalid step, messages quote at most
``ECHO_CHARS`` of what they were sent, and idle sessions are evicted (``session_ttl`` seconds idle, at
most ``max_sessions``, least recently used first), so a client that never closes its sessions cannot
grow the server without bound.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.webshop import pages
from envs.webshop.engine import PRODUCT_WINDOW, SEARCH_RETURN_N, load_products, make_search_engine, product_prices
from envs.webshop.goals import build_goals
from envs.webshop.http_input import ECHO_CHARS, clip
from envs.webshop.reward import get_reward

log = logging.getLogger(__name__)

SUB_PAGES = ("description", "features", "reviews", "attributes")
_ACTION_RE = re.compile(r"(.+)\[(.+)\]", re.DOTALL)
_SID_RE = re.compile(r"[0-9a-f]{32}")
MAX_ACTION_CHARS = 2000
"""Longer actions are invalid steps (Lumos' longest WebShop action is well under 200 characters)."""


@dataclass
class SiteConfig:
    items: Path
    attrs: Path
    human: Path | None = None
    reviews: Path | None = None
    num_products: int | None = None
    search_backend: str = "bm25s"
    price_seed: int = 4
    show_attrs: bool = False
    tagger: str = "en_core_web_sm"
    session_ttl: float = 3600.0
    """Seconds a session may stay idle before it is evicted."""
    max_sessions: int = 4096


@dataclass
class Session:
    id: str
    goal_kind: str
    goal_idx: int
    goal: dict[str, Any]
    page: str = "index"
    keywords: list[str] | None = None
    results_page: int = 1
    results: list[str] = field(default_factory=list)
    asin: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    sub_page: str | None = None
    done: bool = False
    reward: float | None = None
    reward_info: dict[str, Any] | None = None
    actions: list[str] = field(default_factory=list)
    html: str = ""
    last_used: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def parse_action(action: str) -> tuple[str, str | None]:
    m = _ACTION_RE.match(action.strip())
    if m is None:
        return action.strip(), None
    return m.group(1).strip(), m.group(2)


class WebShopSite:
    def __init__(self, config: SiteConfig) -> None:
        from envs.webshop.tagger import get_tagger

        t0 = time.perf_counter()
        self.config = config
        self.products = load_products(config.items, config.attrs, config.human, config.reviews, config.num_products)
        self.by_asin = {p["asin"]: p for p in self.products}
        rng = random.Random(config.price_seed)
        self.prices = product_prices(self.products, rng)
        # Caps for human goals first, then synthetic ones, each from its own copy of the generator
        # state after the prices (upstream builds only one kind per server).
        state = rng.getstate()
        self.goals: dict[str, list[dict[str, Any]]] = {}
        for kind, human in (("human", True), ("synthetic", False)):
            rng.setstate(state)
            self.goals[kind] = build_goals(self.products, self.prices, rng, human=human)
        self.engine = make_search_engine(config.search_backend, self.products)
        self.nouns = get_tagger(config.tagger)
        self.sessions: dict[str, Session] = {}  # insertion order = least recently used first
        self._lock = threading.Lock()
        self.clock = time.monotonic
        self.evicted = 0
        log.info(
            "WebShop site: %d products, %d human / %d synthetic goals, search=%s, tagger=%s (%.1fs)",
            len(self.products), len(self.goals["human"]), len(self.goals["synthetic"]),
            self.engine.name, self.nouns.describe(), time.perf_counter() - t0,
        )  # fmt: skip

    # -- info -------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "products": len(self.products),
            "goals": {k: len(v) for k, v in self.goals.items()},
            "search_backend": self.engine.name,
            "tagger": self.nouns.describe(),
            "price_seed": self.config.price_seed,
            "sessions": len(self.sessions),
            "evicted_sessions": self.evicted,
            "limits": {"max_action_chars": MAX_ACTION_CHARS, "session_ttl": self.config.session_ttl,
                       "max_sessions": self.config.max_sessions},
        }

    def goal(self, kind: str, idx: int) -> dict[str, Any]:
        if not isinstance(kind, str) or kind not in self.goals:
            raise KeyError(f"unknown goal kind '{clip(kind)}'; choose from {', '.join(self.goals)}")
        goals = self.goals[kind]
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise TypeError(f"goal index must be a whole number, got {type(idx).__name__}")
        if not 0 <= idx < len(goals):
            raise IndexError(f"goal index {idx} out of range for {len(goals)} {kind} goals")
        return goals[idx]

    # -- sessions ---------------------------------------------------------------------------
    def reset(self, goal_idx: int, kind: str = "human") -> dict[str, Any]:
        """A new episode under a fresh server-made id (clients never choose ids: one could take over another's)."""
        goal = self.goal(kind, goal_idx)
        sid = uuid.uuid4().hex
        session = Session(id=sid, goal_kind=kind, goal_idx=goal_idx, goal=goal, last_used=self.clock())
        self._render(session)
        with self._lock:
            self._evict(room_for=1)
            self.sessions[sid] = session
        return self.state(session)

    def _evict(self, room_for: int = 0) -> None:
        """Drop idle sessions past the TTL, then the least recently used beyond ``max_sessions`` (lock held)."""
        deadline = self.clock() - self.config.session_ttl
        for sid in [sid for sid, s in self.sessions.items() if s.last_used < deadline]:
            del self.sessions[sid]
            self.evicted += 1
        while self.sessions and len(self.sessions) + room_for > self.config.max_sessions:
            del self.sessions[next(iter(self.sessions))]
            self.evicted += 1

    def get(self, sid: str) -> Session:
        session = None
        if isinstance(sid, str) and _SID_RE.fullmatch(sid):
            with self._lock:
                session = self.sessions.pop(sid, None)
                if session is not None and session.last_used < self.clock() - self.config.session_ttl:
                    self.evicted += 1
                    session = None
                elif session is not None:
                    session.last_used = self.clock()
                    self.sessions[sid] = session  # re-inserted: most recently used last
        if session is None:
            raise KeyError(f"unknown session '{clip(sid, 40)}' (never made, closed, or evicted after being idle)")
        return session

    def close(self, sid: str) -> bool:
        with self._lock:
            return self.sessions.pop(sid, None) is not None

    def state(self, s: Session) -> dict[str, Any]:
        parsed = pages.parse(s.html)
        return {
            "session_id": s.id,
            "observation": parsed.text,
            "clickables": parsed.clickables,
            "page": s.page,
            "instruction": s.goal["instruction_text"],
            "done": s.done,
            "reward": s.reward if s.reward is not None else 0.0,
            "asin": s.asin,
            "options": dict(s.options),
        }

    # -- actions ----------------------------------------------------------------------------
    def step(self, sid: str, action: str) -> dict[str, Any]:
        session = self.get(sid)
        with session.lock:
            if len(action) > MAX_ACTION_CHARS:
                valid, message = False, f"action of {len(action)} characters refused; the limit is {MAX_ACTION_CHARS}"
                action = action[:ECHO_CHARS] + "..."
            else:
                valid, message = self._apply(session, action)
            session.actions.append(action)
            out = self.state(session)
        out.update(valid=valid, message=message, reward_info=session.reward_info if session.done else None)
        return out

    def _apply(self, s: Session, action: str) -> tuple[bool, str]:
        if s.done:
            return False, "the episode has ended (buy now was clicked)"
        name, arg = parse_action(action)
        arg = arg.lower() if arg is not None else None
        if name == "search" and arg:
            self._search(s, arg.split(" "), 1)
            self._render(s)
            return True, ""
        if name != "click" or arg is None:
            return False, f"invalid action '{clip(action)}': use search[keywords] or click[value]"
        parsed = pages.parse(s.html)
        if arg not in parsed.kinds or arg == "search":
            return False, f"'{clip(arg)}' is not clickable on this page; clickables: {parsed.clickables}"
        kind = parsed.kinds[arg]
        if arg == "buy now":
            self._buy(s)
        elif arg == "back to search":
            s.page, s.keywords, s.asin, s.options, s.sub_page = "index", None, None, {}, None
        elif arg == "next >" and s.page == "results":
            self._search(s, s.keywords or [], s.results_page + 1)
        elif arg == "< prev" and s.page == "results":
            self._search(s, s.keywords or [], s.results_page - 1)
        elif arg == "< prev" and s.page == "sub_page":
            s.page, s.sub_page = "item", None
        elif arg == "< prev" and s.page == "item":
            self._search(s, s.keywords or [], s.results_page)
        elif arg in SUB_PAGES:
            s.page, s.sub_page = "sub_page", arg
        elif kind == "product":
            s.page, s.asin = "item", arg.upper()
        elif kind.startswith("option:"):
            s.options[kind.split(":", 1)[1]] = arg
            s.page = "item"
        self._render(s)
        return True, ""

    def _search(self, s: Session, keywords: list[str], page: int) -> None:
        if s.keywords != keywords or not s.results:
            s.results = self.engine.search(" ".join(keywords), k=SEARCH_RETURN_N)
        s.page, s.keywords, s.results_page = "results", keywords, max(1, page)
        s.asin, s.options, s.sub_page = None, {}, None

    def _buy(self, s: Session) -> None:
        product = self.by_asin[s.asin] if s.asin else None
        if product is None:  # not reachable through clickables; kept for safety
            s.reward, s.reward_info = 0.0, {"error": "no product selected"}
        else:
            s.reward, s.reward_info = get_reward(product, s.goal, self.prices[s.asin], s.options, self.nouns)
        s.done, s.page = True, "done"

    def _render(self, s: Session) -> None:
        ctx: dict[str, Any] = {"instruction_text": s.goal["instruction_text"], "act_url": f"/s/{s.id}/act"}
        if s.page == "index":
            s.html = pages.render("index", **ctx)
        elif s.page == "results":
            start = (s.results_page - 1) * PRODUCT_WINDOW
            window = [self.by_asin[a] for a in s.results[start : start + PRODUCT_WINDOW]]
            s.html = pages.render("results", products=window, page=s.results_page, total=len(s.results), **ctx)
        elif s.page == "item":
            s.html = pages.render(
                "item", product=self.by_asin[s.asin], options=s.options, show_attrs=self.config.show_attrs, **ctx
            )
        elif s.page == "sub_page":
            s.html = pages.render("sub_page", product=self.by_asin[s.asin], sub_page=s.sub_page, **ctx)
        else:
            s.html = pages.render("done", reward=s.reward, **ctx)

    def purchase_summary(self, sid: str) -> dict[str, Any]:
        s = self.get(sid)
        return {
            "session_id": s.id,
            "goal_idx": s.goal_idx,
            "goal_kind": s.goal_kind,
            "done": s.done,
            "asin": s.asin,
            "options": s.options,
            "price": self.prices.get(s.asin) if s.asin else None,
            "reward": s.reward if s.reward is not None else 0.0,
            "reward_info": s.reward_info,
            "actions": list(s.actions),
        }

    def dumps_goal(self, kind: str, idx: int) -> str:
        return json.dumps(self.goal(kind, idx))
