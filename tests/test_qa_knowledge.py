"""The offline knowledge base: title-boosted BM25 search, pluggable sources, the on-disk index cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qa_helpers import STRATEGY_TRAIN, write_qa_data

from envs.qa import knowledge as kn
from envs.qa.knowledge import BM25Knowledge, Page, default_knowledge, load_knowledge, page_entries, split_entry


@pytest.fixture()
def qa_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return write_qa_data(tmp_path / "data")


def test_pages_merge_titles_and_facts(qa_data: Path) -> None:
    kb = default_knowledge(qa_data)
    by_title = {p.title: p for p in kb.pages}
    # "Ed Wood" appears in two items with the same text: one page, no duplicate sentence
    assert by_title["Ed Wood"].sentences == ("Edward Davis Wood Jr. was an American filmmaker.",)
    # sentences are whitespace-normalised
    assert by_title["Scott Derrickson"].sentences[1] == "He lives in Los Angeles."
    # StrategyQA facts become a page titled by the item's term
    assert by_title["Genghis Khan"].sentences == tuple(STRATEGY_TRAIN[0]["facts"])


def test_search_prefers_exact_then_base_title(qa_data: Path) -> None:
    kb = default_knowledge(qa_data)
    titles = [p.title for p in kb.search("Ed Wood", k=5)]
    assert titles[:2] == ["Ed Wood", "Ed Wood (film)"]
    assert "Woodson, Arkansas" in titles  # text match ranks after the title matches
    assert [p.title for p in kb.search("scott derrickson", k=1)] == ["Scott Derrickson"]
    # a body-text match finds the fact grouped under another term
    assert "Genghis Khan" in [p.title for p in kb.search("Julius Caesar children", k=3)]
    assert kb.search("zzzz unknown words", k=5) == []
    assert kb.search("   ", k=5) == []
    assert len(kb.search("American", k=2)) == 2


def test_title_boost_beats_body_mentions(tmp_path: Path) -> None:
    pages = [Page("Paris", ("A city.",)), Page("Travel", ("Paris Paris is nice, Paris in spring.",))]
    kb = BM25Knowledge.build(pages, title_boost=3)
    assert kb.search("Paris city", k=2)[0].title == "Paris"


def test_index_cache_reuse_and_invalidation(qa_data: Path, tmp_path: Path) -> None:
    calls = []
    root = tmp_path / "idx"

    def builder() -> list[Page]:
        calls.append(1)
        return [Page("Alpha", ("alpha beta.",)), Page("Gamma", ("gamma delta.",))]

    first = BM25Knowledge.open("key-1", builder, root=root)
    assert not first.from_cache and len(calls) == 1
    second = BM25Knowledge.open("key-1", builder, root=root)
    assert second.from_cache and len(calls) == 1  # loaded, not rebuilt
    assert [p.title for p in second.search("gamma")] == ["Gamma"]
    third = BM25Knowledge.open("key-2", builder, root=root)  # another corpus checksum: rebuilt
    assert not third.from_cache and len(calls) == 2
    # a broken cache entry is rebuilt instead of crashing
    for d in root.iterdir():
        if (d / "pages.jsonl").exists():
            (d / "pages.jsonl").write_text("{not json\n")
    again = BM25Knowledge.open("key-1", builder, root=root)
    assert not again.from_cache and [p.title for p in again.search("alpha")] == ["Alpha"]


def test_default_index_is_keyed_by_corpus_files(qa_data: Path) -> None:
    assert not default_knowledge(qa_data).from_cache
    assert default_knowledge(qa_data).from_cache
    recs = json.loads((qa_data / "strategyqa" / "train.json").read_text())
    recs[0]["facts"].append("Genghis Khan founded the Mongol Empire.")
    (qa_data / "strategyqa" / "train.json").write_text(json.dumps(recs))
    kb = default_knowledge(qa_data)
    assert not kb.from_cache
    assert "Genghis Khan founded the Mongol Empire." in kb.search("Genghis Khan", k=1)[0].sentences


def test_pluggable_sources(qa_data: Path, tmp_path: Path) -> None:
    wiki = tmp_path / "wiki.jsonl"
    wiki.write_text(json.dumps({"title": "Mars", "text": "Mars is a planet. It is red.\nIt has two moons"}) + "\n")
    kb = load_knowledge(str(wiki), qa_data)
    assert kb.search("Mars", k=1)[0].sentences == ("Mars is a planet.", "It is red.", "It has two moons.")
    only_hotpot = load_knowledge("hotpotqa", qa_data)
    assert "Genghis Khan" not in [p.title for p in only_hotpot.pages]  # type: ignore[attr-defined]
    custom = load_knowledge("tests.test_qa_knowledge:_custom_source", qa_data)
    assert custom.search("x")[0].title == "Custom"
    with pytest.raises(ValueError, match="unknown knowledge source"):
        load_knowledge("nonsense", qa_data)
    with pytest.raises(FileNotFoundError):
        load_knowledge("default", tmp_path / "empty")


class _Custom:
    def search(self, query: str, k: int = 5) -> list[Page]:
        return [Page("Custom", (query,))]

    def describe(self) -> str:
        return "custom"


def _custom_source(data_dir: Path) -> _Custom:
    return _Custom()


def test_entries_round_trip() -> None:
    entries = page_entries([Page("A (b)", ("s1", "s2", "s3"))], max_sentences=2)
    assert entries == ["A (b) *** s1", "A (b) *** s2"]
    assert split_entry(entries[0]) == ("A (b)", "s1")
    assert split_entry("no separator") == ("", "no separator")


@pytest.mark.slow
def test_dense_reranker_real_minilm() -> None:
    rr = kn.DenseReranker()
    passages = ["Paris is the capital of France.", "Bananas are yellow.", "The Eiffel Tower is in Paris."]
    order = rr.rank("What is the capital of France?", passages, k=2)
    assert order[0] == 0 and len(order) == 2
    assert rr.rank("q", [], k=5) == []


def test_recall_of_gold_queries_on_real_hotpotqa(data_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """KnowledgeQuery(title) for every supporting title of HotpotQA-100 finds its page in the top 5."""
    data = data_dir
    if not (data / kn.HOTPOTQA_FILE).exists():
        pytest.skip(f"HotpotQA data not found under {data}")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    kb = default_knowledge(data)
    hits = total = 0
    with open(data / kn.HOTPOTQA_FILE) as f:
        for line in f:
            rec = json.loads(line)
            if rec["dev_index"] >= 100:
                break
            for title in dict.fromkeys(t for t, _ in rec["supporting_facts"]):
                total += 1
                hits += title in [p.title for p in kb.search(title, k=5)]
    assert total == 200 and hits / total >= 0.9
