"""The feedback store's review-app tables: tokens kept only as hashes, schema migration, verdict rules;
and the scoring path never loads the web framework."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from counterfeit_vision.cli.main import main
from counterfeit_vision.feedback.store import SCHEMA_VERSION, FeedbackStore, Reviewer
from counterfeit_vision.listing import Result

ROOT = Path(__file__).resolve().parents[2]


def test_token_is_printed_once_and_only_its_hash_is_stored(tmp_path, capsys):
    db = tmp_path / "fb.sqlite3"
    assert main(["review", "token", "add", "--brand", "velora", "--feedback-db", str(db)]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cvr_") and len(token) > 40
    store = FeedbackStore(db)
    assert store.reviewer_for_token(token).brand_id == "velora"
    assert store.reviewer_for_token(token + "x") is None and store.reviewer_for_token("") is None
    for f in tmp_path.iterdir():                       # neither the db nor its WAL holds the token
        assert token.encode() not in f.read_bytes()
    assert main(["review", "token", "add", "--brand", "Not A Brand", "--feedback-db", str(db)]) == 2
    (reviewer,) = [r for r in [store.reviewer_for_token(token)] if r]
    assert store.revoke_reviewer(reviewer.id) and store.reviewer_for_token(token) is None


def test_a_version_1_store_is_migrated(tmp_path):
    db = tmp_path / "old.sqlite3"
    FeedbackStore(db)
    with sqlite3.connect(db) as con:                   # as a store written before the review app
        con.execute("DROP TABLE verdicts")
        con.execute("DROP TABLE reviewers")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store = FeedbackStore(db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    reviewer, _ = store.add_reviewer("velora")
    assert store.verdicts() == [] and reviewer.id == 1


def test_verdict_rules(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    reviewer, _ = store.add_reviewer("velora")
    result = Result("l1", "review", 0.6, "velora", signals={"title_misuse": 0.9})
    with pytest.raises(ValueError, match="appeal needs a note"):
        store.record_verdict(result, reviewer, "appeal", "  ")
    with pytest.raises(ValueError, match="own brand"):
        store.record_verdict(Result("l2", "review", 0.6, "korvex"), reviewer, "genuine")
    with pytest.raises(ValueError, match="verdict must be"):
        store.record_verdict(result, reviewer, "fake")
    assert store.verdicts() == [] and store.decisions() == []
    store.record_verdict(result, reviewer, "counterfeit")
    store.record_verdict(result, reviewer, "genuine")                # a reviewer changes their mind
    assert [d["listing_id"] for d in store.decisions()] == ["l1"]  # the judged result recorded once
    assert [(lb["listing_id"], lb["is_fake"]) for lb in store.labels()] == [("l1", 0)]
    assert store.confirmation_rate("velora") == (0, 1)
    assert store.latest_verdicts("velora") == {"l1": "genuine"}
    assert Reviewer(3, "velora").who == "reviewer:3"


def test_scoring_path_loads_no_web_framework():
    code = ("import sys; import counterfeit_vision.detector, counterfeit_vision.scan.runner, "
            "counterfeit_vision.cli.main, counterfeit_vision.review, counterfeit_vision.report.package; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'starlette', 'uvicorn'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_review_command_usage_errors(tmp_path, capsys):
    assert main(["review", "--feedback-db", str(tmp_path / "fb.sqlite3")]) == 2
    assert "needs --results" in capsys.readouterr().err
    assert main(["review", "--results", str(tmp_path / "nope.jsonl"), "--feedback-db", str(tmp_path / "f")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    assert main(["review", "--results", str(bad), "--feedback-db", str(tmp_path / "f")]) == 2
    assert "line 1 is not a result" in capsys.readouterr().err
