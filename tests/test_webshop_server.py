"""The WebShop server as a subprocess: pages, text observations, paging, partial rewards, a load test
of concurrent sessions, and reliable shutdown. Uses the fixture catalogue (tests/fixtures/webshop)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from envs.webshop.server import ServerProcess
from envs.webshop.tools import WebShopClient

FIX = Path(__file__).parent / "fixtures" / "webshop"
pytestmark = pytest.mark.skipif(
    not __import__("envs.webshop.tagger", fromlist=["x"]).tagger_available(), reason="spaCy en_core_web_sm not installed"
)


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(
        ["--items", str(FIX / "items_shuffle_1000.json"), "--attrs", str(FIX / "items_ins_v2_1000.json"),
         "--human", str(FIX / "items_human_ins.json")]
    ).start()  # fmt: skip
    yield proc
    popen = proc.proc
    proc.stop()
    assert popen is not None and popen.poll() is not None, "server process still running after stop()"


@pytest.fixture(scope="module")
def client(server):
    return WebShopClient(server.url)


@pytest.fixture(scope="module")
def site():
    """The same catalogue in-process, to compute expected rewards independently of the server."""
    from envs.webshop.site import SiteConfig, WebShopSite

    return WebShopSite(SiteConfig(FIX / "items_shuffle_1000.json", FIX / "items_ins_v2_1000.json", FIX / "items_human_ins.json"))


def test_binds_localhost_and_reports_catalogue(server, client):
    assert server.url.startswith("http://127.0.0.1:")
    info = client.info()
    assert info["products"] == 30
    assert info["goals"]["human"] == 30  # 31 instructions, one without attributes is skipped
    assert info["goals"]["synthetic"] > 30


def test_index_results_item_pages_in_text_mode(client):
    g = client.goals("human", 0, 1)["goals"][0]
    s = client.reset(0)
    assert s["observation"] == f"WebShop [SEP] Instruction: [SEP] {g['instruction_text']} [SEP] Search"
    assert s["clickables"] == ["search"]
    r = client.step(s["session_id"], f"search[{g['name']}]")
    seg = r["observation"].split(" [SEP] ")
    assert seg[:3] == ["Instruction:", g["instruction_text"], "Back to Search"]
    assert seg[3].startswith("Page 1 (Total results: ")
    assert r["clickables"][0] == "back to search" and g["asin"].lower() in r["clickables"]
    r = client.step(s["session_id"], f"click[{g['asin'].lower()}]")
    assert r["page"] == "item"
    assert r["clickables"][:6] == ["back to search", "< prev", "description", "features", "reviews", "buy now"]
    values = [v for vals in g["product_options"].values() for v in vals]
    assert r["clickables"][6:] == values
    assert "Price: $" in r["observation"] and "Rating: N.A." in r["observation"]
    r = client.step(s["session_id"], "click[description]")
    assert r["page"] == "sub_page" and r["clickables"] == ["back to search", "< prev"]
    r = client.step(s["session_id"], "click[< prev]")
    assert r["page"] == "item"
    r = client.step(s["session_id"], "click[< prev]")
    assert r["page"] == "results"


def test_invalid_click_is_a_no_op_reported_invalid(client):
    s = client.reset(1)
    r = client.step(s["session_id"], "click[buy now]")
    assert r["valid"] is False and "not clickable" in r["message"]
    assert r["page"] == "index" and r["done"] is False
    r = client.step(s["session_id"], "jump[x]")
    assert r["valid"] is False


def test_paging_ten_per_page(client):
    s = client.reset(2)
    r = client.step(s["session_id"], "search[for with and in of the black white size pack]")
    total = int(r["observation"].split("Total results: ")[1].split(")")[0])
    assert total > 10
    first = [c for c in r["clickables"] if c.startswith("b0")]
    assert len(first) == 10 and "next >" in r["clickables"] and "< prev" not in r["clickables"]
    r = client.step(s["session_id"], "click[next >]")
    second = [c for c in r["clickables"] if c.startswith("b0")]
    assert "Page 2" in r["observation"] and "< prev" in r["clickables"]
    assert len(second) == min(10, total - 10) and not set(first) & set(second)
    r = client.step(s["session_id"], "click[< prev]")
    assert [c for c in r["clickables"] if c.startswith("b0")] == first


def test_wrong_purchase_gets_the_formula_reward(client, site):
    g = site.goals["human"][0]
    other = next(p for p in site.products if p["asin"] != g["asin"] and p["options"])
    s = client.reset(0)
    sid = s["session_id"]
    client.step(sid, f"search[{other['Title']}]")
    client.step(sid, f"click[{other['asin'].lower()}]")
    name, values = next(iter(other["options"].items()))
    client.step(sid, f"click[{values[-1]}]")
    r = client.step(sid, "click[buy now]")
    from envs.webshop.reward import get_reward

    expected, info = get_reward(other, g, site.prices[other["asin"]], {name: values[-1]}, site.nouns)
    assert r["done"] is True
    assert r["reward"] == pytest.approx(expected)
    assert 0.0 <= r["reward"] < 1.0
    assert r["reward_info"]["r_type"] == info["r_type"]
    r = client.step(sid, "search[anything]")
    assert r["valid"] is False  # the episode is over


def test_load_16_sessions_x_20_actions_no_cross_talk(server):
    goals = WebShopClient(server.url).goals("human", 0, 16)["goals"]
    errors: list[str] = []
    rewards: dict[int, float] = {}

    def worker(i: int) -> None:
        c = WebShopClient(server.url)  # one connection per thread
        g = goals[i]
        try:
            s = c.reset(i)
            sid = s["session_id"]
            asin = g["asin"].lower()
            vals = list(dict.fromkeys(v for vals in g["product_options"].values() for v in vals))
            opts = [o for o in (g["goal_options"] or []) if o in vals]
            plan = [f"search[{g['name']}]", f"click[{asin}]"]
            n = 20 - 1 - len(opts) - len(plan)  # navigation actions that end on the item page
            if n % 2:
                plan += ["click[< prev]", f"search[{g['name']}]", f"click[{asin}]"]
                n -= 3
            subs = ["description", "features", "reviews"]
            for k in range(n // 2):
                plan += [f"click[{subs[k % 3]}]", "click[< prev]"]
            plan += [f"click[{o}]" for o in opts] + ["click[buy now]"]
            assert len(plan) == 20
            for a in plan:
                r = c.step(sid, a)
                if not r["valid"]:
                    errors.append(f"session {i}: {a}: {r['message']}")
                if g["instruction_text"] not in r["observation"] and not r["done"]:
                    errors.append(f"session {i}: foreign observation after {a}")
            summary = c.summary(sid)
            if summary["asin"] != g["asin"] or summary["goal_idx"] != i:
                errors.append(f"session {i}: bought {summary['asin']} for goal {summary['goal_idx']}")
            rewards[i] = summary["reward"]
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(f"session {i}: {type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - t0
    assert not errors, errors[:5]
    assert len(rewards) == 16 and all(r == pytest.approx(1.0) for r in rewards.values()), rewards
    assert elapsed < 30, f"320 actions took {elapsed:.1f}s"


def test_stop_kills_process_and_start_failure_is_clear(tmp_path):
    from envs.webshop.server import ServerStartError

    bad = ServerProcess(["--items", str(tmp_path / "nope.json"), "--attrs", str(tmp_path / "nope2.json")], startup_timeout=60)
    with pytest.raises(ServerStartError, match="did not start"):
        bad.start()
    assert not bad.alive()


# -- hostile input: every malformed request is a 4xx with a short JSON message, never a 500 ---------------

@pytest.fixture(scope="module")
def app_client(site):
    from envs.webshop.server import create_app

    return create_app(site).test_client()


def _sid(app_client) -> str:
    r = app_client.post("/api/sessions", json={"goal": 0})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["session_id"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("post", "/api/sessions", b"[1, 2]", 400, "JSON object"),
        ("post", "/api/sessions", b'"goal"', 400, "JSON object"),
        ("post", "/api/sessions", b"{not json", 400, "not valid JSON"),
        ("post", "/api/sessions", b"\xff\xfe", 400, "not valid JSON"),
        ("post", "/api/sessions", b'{"goal": null}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": [1]}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": {"a": 1}}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": "3"}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": true}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": 1.5}', 400, "'goal' must be a whole number"),
        ("post", "/api/sessions", b'{"goal": 0, "kind": []}', 400, "'kind' must be a string"),
        ("post", "/api/sessions", b'{"goal": 0, "kind": "nope"}', 400, "unknown goal kind"),
        ("post", "/api/sessions", b'{"goal": 999999}', 404, "out of range"),
        ("post", "/api/sessions", b'{"goal": -1}', 404, "out of range"),
        ("post", "/api/sessions", b'{"goal": 0, "session_id": "mine"}', 400, "made by the server"),
        ("post", "/api/sessions", b'{"goal": 0, "colour": 1}', 400, "unknown field"),
        ("get", "/api/goals?start=abc", None, 400, "'start' must be a whole number"),
        ("get", "/api/goals?stop=1e3", None, 400, "'stop' must be a whole number"),
        ("get", "/api/goals?kind=nope", None, 400, "unknown goal kind"),
        ("get", "/new/999999", None, 404, "out of range"),
        ("get", "/new/0?kind=nope", None, 400, "unknown goal kind"),
        ("get", "/s/%0D%0ALocation:%20evil", None, 404, "unknown session"),
        ("post", "/s/abc%0D%0Adef/act", None, 404, "unknown session"),
        ("get", "/api/sessions/" + "0" * 32, None, 404, "unknown session"),
        ("post", "/api/sessions/%0D%0A/step", b'{"action": "search[x]"}', 404, "unknown session"),
        ("get", "/no/such/route", None, 404, "not found"),
        ("put", "/api/sessions", None, 405, "not allowed"),
    ],
)
def test_malformed_request_is_a_4xx_with_a_message(app_client, method, path, body, status, needle):
    r = getattr(app_client, method)(path, data=body, content_type="application/json")
    assert r.status_code == status, (r.status_code, r.data[:300])
    err = r.get_json()["error"]
    assert needle.lower() in err.lower()
    assert len(err) < 400 and "\n" not in err and "\r" not in err
    assert "Location" not in r.headers


@pytest.mark.parametrize(
    ("body", "needle"),
    [(b"[1]", "JSON object"), (b"{}", "'action' is required"), (b'{"action": 5}', "'action' must be a string"),
     (b'{"action": ["click[x]"]}', "'action' must be a string"), (b'{"action": null}', "'action' is required"),
     (b'{"action": "click[x]", "session_id": "x"}', "made by the server")],
)
def test_malformed_step_body_is_a_400(app_client, body, needle):
    sid = _sid(app_client)
    r = app_client.post(f"/api/sessions/{sid}/step", data=body, content_type="application/json")
    assert r.status_code == 400 and needle in r.get_json()["error"]
    assert app_client.post(f"/api/sessions/{sid}/step", json={"action": "search[shoe]"}).get_json()["valid"] is True


def test_session_ids_are_server_made_and_distinct(app_client):
    ids = {_sid(app_client) for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_long_arguments_are_never_echoed_whole(app_client):
    sid = _sid(app_client)
    for action in ("click[" + "x" * 1500 + "]", "jump[" + "y" * 1500 + "]", "search[" + "z" * 30_000 + "]"):
        r = app_client.post(f"/api/sessions/{sid}/step", json={"action": action})
        assert r.status_code == 200
        out = r.get_json()
        assert out["valid"] is False and len(out["message"]) < 400, out["message"][:500]
    summary = app_client.get(f"/api/sessions/{sid}").get_json()
    assert max(len(a) for a in summary["actions"]) < 2000
    assert app_client.post(f"/api/sessions/{sid}/step", json={"action": "search[shoe]"}).get_json()["valid"] is True


def test_request_size_is_capped(site):
    from envs.webshop.server import create_app

    small = create_app(site, max_body=1024).test_client()
    r = small.post("/api/sessions", data=b'{"goal": 0, "kind": "' + b"h" * 4096 + b'"}', content_type="application/json")
    assert r.status_code == 413 and "error" in r.get_json()


def test_real_server_refuses_a_large_body_and_keeps_serving(server):
    import http.client
    import json as _json

    for chunked in (False, True):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        body = b'{"goal": 0, "kind": "' + b"h" * (5 << 20) + b'"}'
        if chunked:
            conn.request("POST", "/api/sessions", body=iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),
                         headers={"Content-Type": "application/json"}, encode_chunked=True)
        else:
            conn.request("POST", "/api/sessions", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 413, (chunked, resp.status)
        assert "error" in _json.loads(resp.read())
        conn.close()
    assert WebShopClient(server.url).reset(0)["session_id"]


def test_client_turns_a_4xx_into_a_tool_error(server):
    from envs.actions import ToolError

    c = WebShopClient(server.url)
    with pytest.raises(ToolError, match="404"):
        c.step("f" * 32, "search[x]")
    with pytest.raises(ToolError, match="400"):
        c.request("POST", "/api/sessions", {"goal": None})


def test_idle_sessions_are_evicted_ttl_then_least_recently_used(site, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(site, "clock", lambda: now[0])
    monkeypatch.setattr(site, "sessions", {})
    monkeypatch.setattr(site.config, "session_ttl", 60.0)
    monkeypatch.setattr(site.config, "max_sessions", 3)
    a, b, c = (site.reset(i)["session_id"] for i in range(3))
    now[0] += 30
    site.get(a)  # a is now the most recently used
    d = site.reset(3)["session_id"]  # full: b, the least recently used, goes
    assert set(site.sessions) == {a, c, d}
    with pytest.raises(KeyError, match="evicted"):
        site.step(b, "search[x]")
    now[0] += 45  # c (idle 75 s) is past the TTL, a (45 s) and d (45 s) are not
    with pytest.raises(KeyError):
        site.get(c)
    assert site.step(a, "search[x]")["valid"] is True
    now[0] += 61
    site.reset(4)  # every older session is idle past the TTL
    assert len(site.sessions) == 1
    assert site.info()["evicted_sessions"] >= 4


def test_48_concurrent_sessions_with_server_made_ids_no_cross_talk(server):
    """48 clients at once (reset, search, open the item, buy): each ends on its own goal's product."""
    n = 48
    goals = WebShopClient(server.url).goals("human", 0, 30)["goals"]
    errors: list[str] = []
    sids: dict[int, str] = {}
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        c = WebShopClient(server.url)
        g = goals[i % len(goals)]
        try:
            barrier.wait(60)
            sid = c.reset(i % len(goals))["session_id"]
            sids[i] = sid
            for a in (f"search[{g['name']}]", f"click[{g['asin'].lower()}]", "click[buy now]"):
                r = c.step(sid, a)
                if not r["valid"]:
                    errors.append(f"{i}: {a}: {r['message']}")
            s = c.summary(sid)
            if s["asin"] != g["asin"] or s["goal_idx"] != i % len(goals):
                errors.append(f"{i}: bought {s['asin']} for goal {s['goal_idx']}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(f"{i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    assert len(set(sids.values())) == n


def test_truncated_catalogue_is_one_line_naming_the_file(tmp_path):
    import shutil

    from harness.data import DataFormatError

    from envs.webshop.env import WebShop

    for f in FIX.iterdir():
        shutil.copy(f, tmp_path / f.name)
    items = tmp_path / "items_shuffle_1000.json"
    items.write_bytes(items.read_bytes()[:300])
    env = WebShop(files_dir=str(tmp_path), startup_timeout=120)
    try:
        with pytest.raises(DataFormatError, match=r"items_shuffle_1000\.json is not valid JSON") as info:
            env.load("test", 2)
        assert "\n" not in str(info.value)
    finally:
        env.close()
