"""The WebShop web server: a Flask app over :class:`~envs.webshop.site.WebShopSite`.

Run ``python -m envs.webshop.server --items ... --attrs ... [--human ...]``: it binds 127.0.0.1 on a
free port (``--port 0``), prints one JSON line ``{"port": N, ...}`` on stdout when it is ready, and
serves until stopped. :class:`ServerProcess` starts and stops it as a subprocess (own process group,
SIGTERM then SIGKILL, also at interpreter exit).

Routes
- HTML (for people): ``GET /`` (info), ``GET /s/<sid>`` the session's current page, ``POST /s/<sid>/act``
  with form field ``action`` (or ``search_query``), ``GET /new/<goal_idx>`` starts a session.
- JSON (for agents): ``POST /api/sessions`` ``{goal, kind}`` -> state; ``POST /api/sessions/<sid>/step``
  ``{action}`` -> state + ``valid``, ``message``, ``reward_info``; ``GET /api/sessions/<sid>`` purchase
  summary; ``DELETE /api/sessions/<sid>``; ``GET /api/goals?kind=&start=&stop=``; ``GET /api/info``.

Malformed requests get a 4xx and ``{"error": ...}`` (:mod:`envs.webshop.http_input`); session ids are
made by the server; requests over ``--max-body`` bytes get 413; idle sessions are evicted (``--session-ttl``,
``--max-sessions``).
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from envs.webshop.http_input import MAX_BODY_BYTES, ClientError, clip, int_arg, int_field, json_object, str_field

log = logging.getLogger(__name__)


def create_app(site: Any, max_body: int = MAX_BODY_BYTES) -> Any:
    """The Flask app; every malformed request is a 4xx with a JSON ``{"error": ...}`` (see :mod:`http_input`)."""
    from flask import Flask, jsonify, redirect, request
    from werkzeug.exceptions import HTTPException

    app = Flask("webshop")
    app.config["MAX_CONTENT_LENGTH"] = max_body

    @app.errorhandler(ClientError)
    def _client_error(exc: ClientError) -> Any:
        return jsonify({"error": str(exc)}), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:  # routing redirects stay redirects
            return exc
        return jsonify({"error": exc.description}), exc.code

    @app.errorhandler(Exception)
    def _internal_error(exc: Exception) -> Any:
        log.exception("WebShop server: unhandled error on %s %s", request.method, clip(request.path))
        return jsonify({"error": f"internal error ({type(exc).__name__})"}), 500

    def _body(allowed: tuple[str, ...]) -> dict[str, Any]:
        # Content-Length over the cap is refused by Flask before this; a chunked body is read up to the
        # cap, and one byte more is a 413 (werkzeug would otherwise hand over the truncated prefix)
        data = request.stream.read(max_body)
        if len(data) >= max_body and request.stream.read(1):
            raise ClientError(f"request body over {max_body} bytes", 413)
        return json_object(data, allowed)

    def _session(call: Any, sid: str, *args: Any) -> Any:
        try:
            return call(sid, *args)
        except KeyError as exc:
            raise ClientError(str(exc.args[0]), 404) from None

    def _reset(goal: int, kind: str) -> dict[str, Any]:
        try:
            return site.reset(goal, kind)
        except KeyError as exc:
            raise ClientError(str(exc.args[0]), 400) from None
        except IndexError as exc:
            raise ClientError(str(exc), 404) from None

    @app.get("/")
    def index() -> Any:
        return jsonify(site.info())

    @app.get("/healthz")
    def healthz() -> Any:
        return "ok"

    @app.get("/new/<int:goal_idx>")
    def new_session(goal_idx: int) -> Any:
        state = _reset(goal_idx, request.args.get("kind", "human"))
        return redirect(f"/s/{state['session_id']}")  # a server-made id: safe in a header

    @app.get("/s/<sid>")
    def show(sid: str) -> Any:
        return _session(site.get, sid).html

    @app.post("/s/<sid>/act")
    def act(sid: str) -> Any:
        query = request.form.get("search_query")
        action = f"search[{query}]" if query else request.form.get("action", "")
        state = _session(site.step, sid, action)
        return redirect(f"/s/{state['session_id']}")

    @app.post("/api/sessions")
    def api_reset() -> Any:
        body = _body(allowed=("goal", "kind"))
        return jsonify(_reset(int_field(body, "goal", 0), str_field(body, "kind", "human")))

    @app.post("/api/sessions/<sid>/step")
    def api_step(sid: str) -> Any:
        body = _body(allowed=("action",))
        return jsonify(_session(site.step, sid, str_field(body, "action")))

    @app.get("/api/sessions/<sid>")
    def api_summary(sid: str) -> Any:
        return jsonify(_session(site.purchase_summary, sid))

    @app.delete("/api/sessions/<sid>")
    def api_close(sid: str) -> Any:
        return jsonify({"closed": site.close(sid)})

    @app.get("/api/goals")
    def api_goals() -> Any:
        kind = request.args.get("kind", "human")
        if kind not in site.goals:
            raise ClientError(f"unknown goal kind '{clip(kind, 40)}'; choose from {', '.join(site.goals)}")
        goals = site.goals[kind]
        start = int_arg(request.args, "start", 0)
        stop = int_arg(request.args, "stop", len(goals))
        out = []
        for i in range(max(0, start), min(stop, len(goals))):
            g = dict(goals[i])
            p = site.by_asin[g["asin"]]
            g["index"] = i
            g["product_options"] = p["options"]
            g["product_price"] = site.prices[g["asin"]]
            out.append(g)
        return jsonify({"kind": kind, "total": len(goals), "goals": out})

    @app.get("/api/info")
    def api_info() -> Any:
        return jsonify(site.info())

    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="WebShop server (binds 127.0.0.1)")
    p.add_argument("--items", required=True, type=Path)
    p.add_argument("--attrs", required=True, type=Path)
    p.add_argument("--human", type=Path)
    p.add_argument("--reviews", type=Path)
    p.add_argument("--num-products", type=int)
    p.add_argument("--search-backend", default="bm25s")
    p.add_argument("--price-seed", type=int, default=4)
    p.add_argument("--tagger", default="en_core_web_sm")
    p.add_argument("--show-attrs", action="store_true")
    p.add_argument("--port", type=int, default=0, help="0 = a free port")
    p.add_argument("--session-ttl", type=float, default=3600.0, help="seconds before an idle session is evicted")
    p.add_argument("--max-sessions", type=int, default=4096, help="sessions kept at most (least recently used go)")
    p.add_argument("--max-body", type=int, default=MAX_BODY_BYTES, help="request size cap in bytes")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from werkzeug.serving import make_server

    from envs.webshop.site import SiteConfig, WebShopSite

    site = WebShopSite(
        SiteConfig(
            items=args.items, attrs=args.attrs, human=args.human, reviews=args.reviews,
            num_products=args.num_products, search_backend=args.search_backend,
            price_seed=args.price_seed, show_attrs=args.show_attrs, tagger=args.tagger,
            session_ttl=args.session_ttl, max_sessions=args.max_sessions,
        )
    )  # fmt: skip
    server = make_server("127.0.0.1", args.port, create_app(site, max_body=args.max_body), threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(json.dumps({"port": server.server_port, "pid": os.getpid(), **site.info()}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


class ServerStartError(RuntimeError):
    """The server process exited or timed out before printing its port; ``reason`` is the last line of its
    stderr (the exception that stopped it), e.g. ``harness.data.DataFormatError: data file ... is not valid JSON``."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class ServerProcess:
    """A WebShop server subprocess bound to 127.0.0.1; stopped on ``stop()``, garbage collection or exit."""

    def __init__(self, args: list[str], startup_timeout: float = 300.0) -> None:
        self.args = args
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.port: int | None = None
        self.info: dict[str, Any] = {}
        self._finalizer: weakref.finalize | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        if self.proc is not None and self.proc.poll() is None:
            return self
        cmd = [sys.executable, "-m", "envs.webshop.server", *self.args]
        log.info("starting WebShop server: %s", " ".join(cmd))
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        self._finalizer = weakref.finalize(self, _terminate, self.proc)
        atexit.register(self._finalizer)
        line = _readline_with_timeout(self.proc, self.startup_timeout)
        if not line:
            err = ""
            try:
                self.proc.wait(timeout=5)  # stdout closed: the process is exiting; reap it to read why
            except subprocess.TimeoutExpired:
                pass
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()[-2000:]
            self.stop()
            lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"no reply within {self.startup_timeout:g} s"
            raise ServerStartError(f"WebShop server did not start: {reason}", reason)
        self.info = json.loads(line)
        self.port = int(self.info["port"])
        # keep draining stderr so the child never blocks on a full pipe
        threading.Thread(target=_drain, args=(self.proc.stderr,), daemon=True).start()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            atexit.unregister(self._finalizer)
        self.proc, self.port = None, None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _readline_with_timeout(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    t.start()
    t.join(timeout)
    return result[0].strip() if result else ""


def _drain(stream: Any) -> None:
    try:
        for line in stream:
            log.debug("webshop server: %s", line.rstrip())
    except (OSError, ValueError):
        pass


def _terminate(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the server's process group, SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main())
