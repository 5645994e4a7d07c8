"""Trusted reporters: the store records who reported, migrates old stores, scores each reporter's accuracy,
and a trusted reporter's labels weigh more in the fit."""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from counterfeit_vision.cli.main import main
from counterfeit_vision.feedback.reporters import label_weights, reporter_accuracy
from counterfeit_vision.feedback.store import SCHEMA_VERSION, FeedbackStore, write_outcomes
from counterfeit_vision.fusion.fitting import FeatureTable, fit_monotone_logistic
from counterfeit_vision.listing import Result


def _store(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record_decisions([Result(f"l{i}", "review", 0.6, "velora", {"title_brand": 1.0}) for i in range(6)])
    rows = [{"listing_id": f"l{i}", "outcome": "confirmed_fake", "reporter": "brand-legal" if i < 3 else "agency",
             "decided_at": "2026-01-01T00:00:00Z"} for i in range(6)]
    # two of the agency's notices are overturned by the sellers' appeals
    rows += [{"listing_id": f"l{i}", "outcome": "appeal_upheld", "decided_at": "2026-02-01T00:00:00Z"} for i in (3, 4)]
    rows += [{"listing_id": "l0", "outcome": "appeal_denied", "decided_at": "2026-02-01T00:00:00Z"}]
    assert store.import_outcomes(write_outcomes(tmp_path / "o.jsonl", rows)).ok
    return store


def test_reporter_accuracy_is_the_smoothed_share_upheld(tmp_path):
    acc = reporter_accuracy(_store(tmp_path))
    assert set(acc) == {"brand-legal", "agency"}
    assert (acc["brand-legal"].upheld, acc["brand-legal"].contested, acc["brand-legal"].accuracy) == (3, 1, 0.8)
    assert (acc["agency"].overturned, acc["agency"].contested) == (2, 2)
    assert acc["agency"].accuracy == (1 + 1) / (3 + 2)


def test_feedback_stats_lists_reporters(tmp_path, capsys):
    _store(tmp_path)
    assert main(["feedback", "stats", "--feedback-db", str(tmp_path / "fb.sqlite3")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert [r["reporter"] for r in stats["reporters"]] == ["agency", "brand-legal"]
    assert stats["reporters"][1]["accuracy"] == 0.8 and stats["outcomes"] == 9


def test_trusted_labels_get_the_weight_and_change_the_fit(tmp_path):
    store = _store(tmp_path)
    rows = store.training_table()
    assert {r["listing_id"]: r["reporter"] for r in rows}["l3"] == "agency"  # the notice's reporter, after appeal
    w = label_weights(rows, reporter_accuracy(store), trusted_accuracy=0.75, trusted_weight=3.0)
    assert w == [3.0 if r["reporter"] == "brand-legal" else 1.0 for r in rows]
    table = FeatureTable.from_store(store, trusted_accuracy=0.75, trusted_weight=3.0)
    assert sorted(table.weight.tolist()) == [1.0, 1.0, 1.0, 3.0, 3.0, 3.0]
    Z, y = np.array([[1.0], [1.0], [0.0], [0.0]]), np.array([1.0, 0.0, 0.0, 0.0])
    plain = fit_monotone_logistic(Z, y, [1])
    weighted = fit_monotone_logistic(Z, y, [1], sample_weight=np.array([4.0, 1.0, 1.0, 1.0]))
    assert weighted[0][0] > plain[0][0]


def test_a_version_1_store_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.sqlite3"
    FeedbackStore(path)
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE outcomes DROP COLUMN reporter")
    con.execute("ALTER TABLE decisions DROP COLUMN photos")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = FeedbackStore(path)
    con = sqlite3.connect(path)
    assert "reporter" in {r[1] for r in con.execute("PRAGMA table_info(outcomes)")}
    assert "photos" in {r[1] for r in con.execute("PRAGMA table_info(decisions)")}
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    con.close()
    store.record_decisions([Result("a", "review", 0.5, "velora")])
    assert store.import_outcomes(write_outcomes(tmp_path / "o.jsonl", [
        {"listing_id": "a", "outcome": "confirmed_fake", "reporter": "r"}])).ok
    assert store.outcomes()[0]["reporter"] == "r"


def test_fit_fusion_uses_the_sample_weights():
    from counterfeit_vision.fusion.fitting import fit_fusion
    from training.fusion import simulate_feedback

    rows = simulate_feedback(3000, seed=5, label_noise=0.01)
    plain = fit_fusion(FeatureTable.from_rows(rows)).model
    ones = fit_fusion(FeatureTable.from_rows([{**r, "weight": 1.0} for r in rows])).model
    assert ones.coefficients == plain.coefficients
    # a trusted reporter's labels (here: every third row) weigh 5x
    weighted = fit_fusion(FeatureTable.from_rows([{**r, "weight": 5.0 if i % 3 == 0 else 1.0}
                                                  for i, r in enumerate(rows)])).model
    assert weighted.coefficients != plain.coefficients
