"""The feedback store: decisions recorded, outcomes imported transactionally and idempotently."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading

import pytest

from counterfeit_vision.feedback.store import FeedbackStore, OutcomeError, write_outcomes
from counterfeit_vision.listing import Evidence, Result


def _result(lid, brand="velora", seller="shop-1", decision="review", conf=0.6, **signals):
    sig = {"title_brand": 1.0, "title_misuse": 0.5, **signals}
    ev = (Evidence("title", brand, 0.9, "title misuse: leetspeak"),
          Evidence("seller", brand, 0.0, f"seller {seller}", text=seller))
    return Result(lid, decision, conf, brand, sig, ev, None, {"fusion": "hand-set-v1", "library_version": "0.1.0"})


@pytest.fixture
def store(tmp_path):
    s = FeedbackStore(tmp_path / "fb.sqlite3")
    s.record_decisions([_result(f"l{i}", seller="shop-1" if i < 4 else "shop-2") for i in range(6)])
    return s


def _dump(store) -> str:
    con = sqlite3.connect(store.path)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


def test_decisions_are_recorded_with_evidence_and_model_version(store):
    d = store.decisions("l0")
    assert len(d) == 1
    assert d[0]["model_version"] == "hand-set-v1" and d[0]["seller_id"] == "shop-1"
    assert d[0]["signals"]["title_misuse"] == 0.5 and d[0]["evidence"][0]["kind"] == "title"
    assert d[0]["model"]["library_version"] == "0.1.0"


def test_import_is_idempotent(store, tmp_path):
    f = write_outcomes(tmp_path / "o.jsonl", [
        {"listing_id": "l0", "brand_id": "velora", "outcome": "confirmed_fake", "source": "brand",
         "reviewer": "ann", "decided_at": "2025-03-01T10:00:00Z"},
        {"listing_id": "l1", "outcome": "rejected", "decided_at": "2025-03-01T11:00:00+00:00"},
    ])
    first = store.import_outcomes(f)
    assert first.ok and first.added == 2 and first.duplicates == 0
    snapshot = _dump(store)
    second = store.import_outcomes(f)
    assert second.ok and second.added == 0 and second.duplicates == 2
    assert _dump(store) == snapshot  # the second import changed nothing at all
    assert store.stats()["imports"] == 1


def test_a_bad_row_rolls_back_the_whole_file_and_every_problem_is_reported(store, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join([
        json.dumps({"listing_id": "l0", "outcome": "confirmed_fake"}),
        json.dumps({"listing_id": "l1", "outcome": "maybe"}),
        "{not json",
        json.dumps({"listing_id": "l2", "outcome": "appeal_upheld", "source": "brand"}),
        json.dumps({"listing_id": "never-seen", "outcome": "rejected"}),
        json.dumps({"listing_id": "l3", "outcome": "rejected", "decided_at": "yesterday"}),
    ]) + "\n")
    before = _dump(store)
    rep = store.import_outcomes(f)
    assert not rep.committed and rep.added == 0
    assert [n for n, _ in rep.errors] == [2, 3, 4, 5, 6]
    assert "outcome must be one of" in rep.errors[0][1] and "brand_id missing" in rep.errors[3][1]
    assert _dump(store) == before
    assert "nothing imported" in rep.summary()
    # --skip-bad imports the good rows and still reports the bad ones
    rep = store.import_outcomes(f, skip_bad=True)
    assert rep.committed and rep.added == 1 and len(rep.errors) == 5
    assert store.stats()["labels"] == 1


def test_a_failure_mid_import_leaves_the_store_unchanged(store, tmp_path, monkeypatch):
    import counterfeit_vision.feedback.store as fb

    f = write_outcomes(tmp_path / "o.jsonl", [{"listing_id": f"l{i}", "outcome": "confirmed_fake"} for i in range(4)])
    before = _dump(store)
    calls = {"n": 0}
    real = fb._refresh_label

    def boom(*a):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(*a)

    monkeypatch.setattr(fb, "_refresh_label", boom)
    with pytest.raises(RuntimeError):
        store.import_outcomes(f)
    assert _dump(store) == before


def test_csv_import_and_appeal_upheld_overturns_a_confirmation(store, tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("listing_id,brand_id,outcome,source,reviewer,decided_at\n"
                 "l0,velora,confirmed_fake,brand,ann,2025-03-01T10:00:00Z\n"
                 "l0,velora,appeal_upheld,seller,appeals,2025-03-09T10:00:00Z\n"
                 "l1,,appeal_denied,,appeals,\n")
    rep = store.import_outcomes(f)
    assert rep.ok and rep.added == 3
    labels = {(r["listing_id"]): r["is_fake"] for r in store.labels()}
    assert labels == {"l0": 0, "l1": 1}


def test_unreadable_files_raise(store, tmp_path):
    with pytest.raises(OutcomeError):
        store.import_outcomes(tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("just some text\n")
    with pytest.raises(OutcomeError):
        store.import_outcomes(tmp_path / "x.txt")


def test_seller_history_is_a_smoothed_rate_of_confirmed_fakes(store, tmp_path):
    assert store.seller_history("shop-1") == 0.0 and store.seller_history(None) == 0.0
    write_outcomes(tmp_path / "a.jsonl", [{"listing_id": "l0", "outcome": "confirmed_fake"}])
    store.import_outcomes(tmp_path / "a.jsonl")
    assert store.seller_history("shop-1") == pytest.approx(1 / 3)
    write_outcomes(tmp_path / "b.jsonl", [{"listing_id": "l1", "outcome": "confirmed_fake"},
                                          {"listing_id": "l2", "outcome": "rejected"},
                                          {"listing_id": "l4", "outcome": "confirmed_fake"}])
    store.import_outcomes(tmp_path / "b.jsonl")
    assert store.seller_history("shop-1") == pytest.approx(2 / 5)
    assert store.seller_history("shop-2") == pytest.approx(1 / 3)
    # an upheld appeal removes the confirmed fake from the seller's record
    write_outcomes(tmp_path / "c.jsonl", [{"listing_id": "l1", "outcome": "appeal_upheld",
                                           "decided_at": "2030-01-01T00:00:00Z"}])
    store.import_outcomes(tmp_path / "c.jsonl")
    assert store.seller_history("shop-1") == pytest.approx(1 / 5)


def test_training_table_uses_the_decision_before_the_outcome(store, tmp_path):
    write_outcomes(tmp_path / "a.jsonl", [{"listing_id": "l0", "outcome": "confirmed_fake"},
                                          {"listing_id": "l1", "outcome": "rejected"}])
    store.import_outcomes(tmp_path / "a.jsonl")
    # a re-scan after the outcome (its seller_history now includes l0's own label) is not used
    store.record_decisions([_result("l0", seller_history=0.33, conf=0.9, decision="takedown")])
    rows = {r["listing_id"]: r for r in store.training_table()}
    assert set(rows) == {"l0", "l1"}
    assert rows["l0"]["label"] == 1 and rows["l1"]["label"] == 0
    assert rows["l0"]["features"]["seller_history"] == 0.0 and rows["l0"]["model_version"] == "hand-set-v1"


def test_concurrent_writers_do_not_lose_decisions(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")

    def work(k):
        for j in range(10):
            store.record_decisions([_result(f"t{k}-{j}")])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats()["decisions"] == 40
