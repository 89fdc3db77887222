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
