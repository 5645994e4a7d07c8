"""The feedback store: every decision with its evidence, and what happened to it afterwards.

An embedded SQLite database (one file; default ``feedback.sqlite3``) with

- ``decisions``: one row per scored listing per scan: decision, confidence, the cue
  features (``signals``), the evidence, the model versions that produced it, the seller;
- ``outcomes``: what a brand or a seller's appeal decided about a listing;
- ``labels``: the current verdict per (listing, brand), derived from the outcomes, with
  the decision it is about (the latest one recorded before the first outcome arrived);
- ``imports``: a log of imported outcome files;
- ``reviewers`` (schema 2): the review app's access tokens, one brand each, stored only as
  the SHA-256 of the token;
- ``verdicts`` (schema 2): every verdict given in the review app, with who, when, the note
  and the version of the result judged; a ``counterfeit`` or ``genuine`` verdict is also an
  outcome (``confirmed_fake`` / ``rejected``, source ``brand``), so labels, seller history
  and ``train`` see it like an imported one.

Schema versions: a store of an older version is brought up to date when opened (the new
tables are created, the version in ``meta`` is raised); a newer one is refused.

Outcome files (``counterfeit-vision feedback import FILE``)
---------------------------------------------------------
JSON Lines (one object per line) or CSV with a header row. Fields:

=============  ========  =====================================================
field          required  meaning
=============  ========  =====================================================
listing_id     yes       the listing's ``id`` as scanned
outcome        yes       ``confirmed_fake`` | ``rejected`` (a brand's review of a
                         referred listing) | ``appeal_upheld`` | ``appeal_denied``
                         (a seller's appeal against a takedown)
brand_id       no        defaults to the brand of the latest recorded decision
source         no        ``brand`` (for confirmed_fake/rejected) or ``seller``
                         (for appeals); defaults from the outcome, must agree
reviewer       no        who decided
decided_at     no        ISO 8601 time of the decision (orders outcomes)
seller_id      no        defaults to the seller of the recorded decision
reporter       no        who gave the verdict or notice (a rights holder's
                         account, a trusted-reporter programme member); its
                         accuracy is computed by ``feedback.reporters``
=============  ========  =====================================================

Meaning: ``confirmed_fake`` and ``appeal_denied`` say the listing is fake;
``rejected`` and ``appeal_upheld`` say it is not. The verdict of a (listing, brand)
is its last outcome ordered by ``decided_at`` then appeals after brand reviews then
import order: an upheld appeal overturns an earlier confirmation.

Import rules
------------
- **Transactional, all or nothing** (the default): every row is validated first; if
  any row is bad, nothing is written and the report lists every bad row with its
  line number. ``skip_bad=True`` (CLI ``--skip-bad``) imports the good rows and
  reports the bad ones. The writes happen in one SQLite transaction, so a crash
  leaves the store as it was.
- **Idempotent**: each outcome has a key, the sha256 of (listing_id, brand_id,
  outcome, source, decided_at); a row whose key is already stored is counted as a
  duplicate and changes nothing, so importing the same file twice changes nothing.

Seller history
--------------
``seller_history(seller_id) = confirmed / (decided + 2)`` over the seller's
(listing, brand) verdicts: 0 for a new seller, and one confirmed fake alone gives
1/3, not 1. The detector reads it as the ``seller_history`` cue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from counterfeit_vision._text import brief, replace_surrogates
from counterfeit_vision.fusion.cues import FEATURE_NAMES

__all__ = ["DEFAULT_DB", "FeedbackStore", "ImportReport", "OUTCOMES", "OutcomeError", "Reviewer", "VERDICTS",
           "result_version"]

DEFAULT_DB = "feedback.sqlite3"
# 2: outcomes.reporter, decisions.photos; 3: reviewers and verdicts (the review app).
# Older stores are migrated on open.
SCHEMA_VERSION = 3
# review-app verdict -> the outcome it is (None: an appeal note, no verdict on the listing yet)
VERDICTS: Mapping[str, str | None] = {"counterfeit": "confirmed_fake", "genuine": "rejected", "appeal": None}
MAX_NOTE_CHARS = 2000
# outcome -> (is_fake, expected source, stage: appeals come after brand reviews)
OUTCOMES: Mapping[str, tuple[int, str, int]] = {
    "confirmed_fake": (1, "brand", 0),
    "rejected": (0, "brand", 0),
    "appeal_upheld": (0, "seller", 1),
    "appeal_denied": (1, "seller", 1),
}
_ROW_FIELDS = ("listing_id", "brand_id", "outcome", "source", "reviewer", "decided_at", "seller_id", "reporter")
MAX_FIELD_CHARS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    listing_id TEXT NOT NULL,
    brand_id TEXT,
    seller_id TEXT,
    decision TEXT NOT NULL,
    confidence REAL NOT NULL,
    model_version TEXT,
    model TEXT NOT NULL,
    signals TEXT NOT NULL,
    evidence TEXT NOT NULL,
    error TEXT,
    recorded_at TEXT NOT NULL,
    photos TEXT
);
CREATE INDEX IF NOT EXISTS decisions_listing ON decisions (listing_id, brand_id);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    added INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    listing_id TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    seller_id TEXT,
    outcome TEXT NOT NULL,
    is_fake INTEGER NOT NULL,
    source TEXT NOT NULL,
    stage INTEGER NOT NULL,
    reviewer TEXT,
    decided_at TEXT,
    decision_id INTEGER REFERENCES decisions (id),
    import_id INTEGER REFERENCES imports (id),
    reporter TEXT
);
CREATE INDEX IF NOT EXISTS outcomes_pair ON outcomes (listing_id, brand_id);
CREATE TABLE IF NOT EXISTS labels (
    listing_id TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    seller_id TEXT,
    is_fake INTEGER NOT NULL,
    outcome_id INTEGER NOT NULL REFERENCES outcomes (id),
    decision_id INTEGER REFERENCES decisions (id),
    PRIMARY KEY (listing_id, brand_id)
);
CREATE INDEX IF NOT EXISTS labels_seller ON labels (seller_id);
CREATE TABLE IF NOT EXISTS reviewers (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    brand_id TEXT NOT NULL,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    listing_id TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    note TEXT,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers (id),
    decided_at TEXT NOT NULL,
    result_version TEXT NOT NULL,
    outcome_id INTEGER REFERENCES outcomes (id)
);
CREATE INDEX IF NOT EXISTS verdicts_listing ON verdicts (brand_id, listing_id);
"""


@dataclass(frozen=True)
class Reviewer:
    """A review-app reviewer: one brand, known by the id of their token."""

    id: int
    brand_id: str
    label: str | None = None

    @property
    def who(self) -> str:
        """How the reviewer is named in outcomes and verdicts."""
        return f"reviewer:{self.id}"


def result_version(result: Any) -> str:
    """The version of a result a verdict is about: SHA-256 of its canonical JSON (first 16 hex digits)."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    return "result-" + hashlib.sha256(json.dumps(d, sort_keys=True, ensure_ascii=True).encode()).hexdigest()[:16]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class _Abort(Exception):
    """Raised inside an import transaction to roll it back."""


class OutcomeError(ValueError):
    """An outcome file could not be read at all (missing, not JSONL/CSV)."""


@dataclass
class ImportReport:
    """What an import did. ``committed`` is False when a bad row stopped an all-or-nothing import."""

    path: str
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    unmatched: int = 0            # outcomes about listings with no recorded decision (no features to learn from)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, problem)
    committed: bool = False
    file_sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.committed and not self.errors

    def summary(self) -> str:
        head = (f"{self.path}: {self.rows} rows, {self.added} added, {self.duplicates} already imported, "
                f"{self.unmatched} without a recorded decision")
        if not self.errors:
            return head
        what = "imported the good rows" if self.committed else "nothing imported"
        lines = [f"{head}; {len(self.errors)} bad row(s), {what}:"]
        lines += [f"  line {n}: {msg}" for n, msg in self.errors[:50]]
        if len(self.errors) > 50:
            lines.append(f"  ... and {len(self.errors) - 50} more")
        return "\n".join(lines)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class FeedbackStore:
    """Decisions and outcomes in one SQLite file.

    Each call opens its own short-lived connection, so a store can be shared across
    threads and processes (SQLite serialises writers; WAL lets readers go on).
    """

    def __init__(self, path: str | Path = DEFAULT_DB, *, prior_fake: float = 0.0, prior_total: float = 2.0):
        self.path = Path(path)
        self.prior_fake = float(prior_fake)
        self.prior_total = float(prior_total)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            try:
                con.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # e.g. a filesystem without shared memory
                pass
            con.executescript(_SCHEMA)
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema version {row[0]} is newer than this library "
                                   f"({SCHEMA_VERSION})")
            else:  # the script above created the tables an older store lacked; columns are added here
                _migrate(con, int(row[0]))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ---------------------------------------------------------------- decisions
    def record_decisions(self, results: Iterable[Any], *, listings: Iterable[Any] | None = None,
                         recorded_at: str | None = None) -> int:
        """Record every result (one transaction); returns how many were written.

        The seller comes from ``listings`` (anything with ``id`` and ``seller_id``) when
        given, else from the result's ``seller_id``, else its ``seller`` evidence. The
        result's photo hashes are kept too, so seller networks can be built from the store.
        """
        sellers = {str(x.id): x.seller_id for x in listings} if listings is not None else {}
        at = recorded_at or _now()
        rows = []
        for r in results:
            d = r.to_dict() if hasattr(r, "to_dict") else dict(r)
            seller = sellers.get(str(d["id"])) or d.get("seller_id") or next(
                (e.get("text") for e in d.get("evidence", []) if e.get("kind") == "seller"), None)
            model = d.get("model") or {}
            rows.append((str(d["id"]), d.get("brand"), seller, d["decision"], float(d["confidence"]),
                         model.get("fusion"), json.dumps(model, sort_keys=True),
                         json.dumps(d.get("signals") or {}, sort_keys=True),
                         json.dumps(d.get("evidence") or [], ensure_ascii=False), d.get("error"), at,
                         json.dumps(d.get("photos") or [], ensure_ascii=False)))
        with self._transaction() as con:
            con.executemany("INSERT INTO decisions (listing_id, brand_id, seller_id, decision, confidence, "
                            "model_version, model, signals, evidence, error, recorded_at, photos) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def decisions(self, listing_id: str | None = None) -> list[dict]:
        """Recorded decisions (all, or one listing's), oldest first, JSON fields decoded."""
        sql = "SELECT * FROM decisions" + (" WHERE listing_id = ?" if listing_id is not None else "") + " ORDER BY id"
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            out = []
            for row in con.execute(sql, (listing_id,) if listing_id is not None else ()):
                d = dict(row)
                for k in ("model", "signals", "evidence"):
                    d[k] = json.loads(d[k])
                d["photos"] = json.loads(d["photos"]) if d.get("photos") else []  # none before schema 2
                out.append(d)
        return out

    # ----------------------------------------------------------------- outcomes
    def import_outcomes(self, path: str | Path, *, skip_bad: bool = False) -> ImportReport:
        """Import an outcome file (JSONL or CSV); see the module doc for the rules."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise OutcomeError(f"cannot read outcome file {path}: {exc.strerror or exc}") from None
        report = ImportReport(str(path), file_sha256=hashlib.sha256(data).hexdigest())
        parsed = list(_parse_outcome_file(data, path))
        report.rows = len(parsed)
        good: list[tuple[int, dict]] = []
        for line, row in parsed:
            if isinstance(row, str):
                report.errors.append((line, row))
            else:
                good.append((line, row))
        try:
            self._import_rows(good, path, report, skip_bad)
        except _Abort:
            report.errors.sort()
            return report
        report.errors.sort()
        report.committed = True
        return report

    def _import_rows(self, good: list[tuple[int, dict]], path: Path, report: ImportReport, skip_bad: bool) -> None:
        with self._transaction() as con:
            # brand and seller defaults from the recorded decisions; rows that still lack a brand are bad
            resolved = []
            for line, row in good:
                latest = con.execute("SELECT id, brand_id, seller_id FROM decisions WHERE listing_id = ? "
                                     "AND (? IS NULL OR brand_id = ?) ORDER BY id DESC LIMIT 1",
                                     (row["listing_id"], row["brand_id"], row["brand_id"])).fetchone()
                if row["brand_id"] is None:
                    if latest is None or latest[1] is None:
                        report.errors.append((line, "brand_id missing and no recorded decision names a brand"))
                        continue
                    row["brand_id"] = latest[1]
                row["decision_id"] = latest[0] if latest else None
                row["seller_id"] = row["seller_id"] or (latest[2] if latest else None)
                resolved.append(row)
            if report.errors and not skip_bad:
                raise _Abort  # rolls the transaction back; nothing was written yet anyway
            cur = con.execute("INSERT INTO imports (path, file_sha256, rows, added, duplicates, imported_at) "
                              "VALUES (?,?,?,?,?,?)", (str(path), report.file_sha256, report.rows, 0, 0, _now()))
            import_id = cur.lastrowid
            touched: set[tuple[str, str]] = set()
            for row in resolved:
                is_fake, _, stage = OUTCOMES[row["outcome"]]
                key = _outcome_key(row)
                cur = con.execute(
                    "INSERT OR IGNORE INTO outcomes (key, listing_id, brand_id, seller_id, outcome, is_fake, source, "
                    "stage, reviewer, decided_at, decision_id, import_id, reporter) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (key, row["listing_id"], row["brand_id"], row["seller_id"], row["outcome"], is_fake,
                     row["source"], stage, row["reviewer"], row["decided_at"], row["decision_id"], import_id,
                     row["reporter"]))
                if cur.rowcount:
                    report.added += 1
                    touched.add((row["listing_id"], row["brand_id"]))
                    if row["decision_id"] is None:
                        report.unmatched += 1
                else:
                    report.duplicates += 1
            for pair in sorted(touched):
                _refresh_label(con, *pair)
            if report.added:
                con.execute("UPDATE imports SET added = ?, duplicates = ? WHERE id = ?",
                            (report.added, report.duplicates, import_id))
            else:  # nothing new: leave no trace, so a repeated import changes nothing
                con.execute("DELETE FROM imports WHERE id = ?", (import_id,))

    def outcomes(self) -> list[dict]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM outcomes ORDER BY id")]

    def labels(self) -> list[dict]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM labels ORDER BY listing_id, brand_id")]

    # ------------------------------------------------------------ seller history
    def seller_history(self, seller_id: str | None) -> float:
        """Smoothed share of the seller's decided listings confirmed fake: confirmed / (decided + 2)."""
        if not seller_id:
            return 0.0
        with self._connect() as con:
            fake, total = con.execute("SELECT COALESCE(SUM(is_fake), 0), COUNT(*) FROM labels WHERE seller_id = ?",
                                      (str(seller_id),)).fetchone()
        if total == 0:
            return 0.0
        return float(min(1.0, max(0.0, (fake + self.prior_fake) / (total + self.prior_total))))

    def labelled_verdicts(self) -> list[dict]:
        """Every current verdict with the outcome that decided it, for seller risk: listing_id,
        brand_id, seller_id, is_fake, outcome, decided_at (None when the file gave no time)."""
        sql = ("SELECT l.listing_id, l.brand_id, l.seller_id, l.is_fake, o.outcome, o.decided_at "
               "FROM labels l JOIN outcomes o ON o.id = l.outcome_id ORDER BY l.listing_id, l.brand_id")
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql)]

    # ------------------------------------------------------------------ training
    def training_table(self) -> list[dict]:
        """One row per labelled (listing, brand) whose decision was recorded before its first outcome.

        Row: listing_id, brand_id, seller_id, label (1 fake, 0 not), features (dict in
        FEATURE_NAMES order, from the decision's signals), decision_id, model_version,
        decision, confidence, recorded_at, reporter (of the outcome that set the verdict).
        """
        sql = ("SELECT l.listing_id, l.brand_id, l.seller_id, l.is_fake, l.decision_id, d.signals, "
               "d.model_version, d.decision, d.confidence, d.recorded_at, d.brand_id, "
               # the verdict's reporter; for a verdict set by an appeal, the notice's reporter
               "COALESCE(o.reporter, (SELECT o2.reporter FROM outcomes o2 WHERE o2.listing_id = l.listing_id "
               "AND o2.brand_id = l.brand_id AND o2.reporter IS NOT NULL ORDER BY o2.id LIMIT 1)) "
               "FROM labels l JOIN decisions d ON d.id = l.decision_id JOIN outcomes o ON o.id = l.outcome_id "
               "ORDER BY l.listing_id, l.brand_id")
        out = []
        with self._connect() as con:
            for lid, bid, sid, fake, did, signals, ver, dec, conf, at, dec_brand, reporter in con.execute(sql):
                sig = json.loads(signals)
                if dec_brand != bid:  # the decision was about another brand: no features for this one
                    continue
                out.append({"listing_id": lid, "brand_id": bid, "seller_id": sid, "label": int(fake),
                            "features": {n: float(sig.get(n, 0.0)) for n in FEATURE_NAMES},
                            "decision_id": did, "model_version": ver, "decision": dec,
                            "confidence": float(conf), "recorded_at": at, "reporter": reporter})
        return out

    # ------------------------------------------------------------- review app
    def add_reviewer(self, brand_id: str, label: str | None = None) -> tuple[Reviewer, str]:
        """A new reviewer of ``brand_id`` and their token. The token is returned once; only its hash is stored."""
        token = "cvr_" + secrets.token_urlsafe(32)
        with self._transaction() as con:
            cur = con.execute("INSERT INTO reviewers (token_sha256, brand_id, label, created_at) VALUES (?,?,?,?)",
                              (_token_hash(token), brand_id, label, _now()))
        return Reviewer(int(cur.lastrowid), brand_id, label), token

    def reviewer_for_token(self, token: str | None) -> Reviewer | None:
        """The (not revoked) reviewer a token belongs to, or None."""
        if not token or len(token) > 200:
            return None
        with self._connect() as con:
            row = con.execute("SELECT id, brand_id, label FROM reviewers WHERE token_sha256 = ? AND revoked_at IS NULL",
                              (_token_hash(token),)).fetchone()
        return Reviewer(int(row[0]), row[1], row[2]) if row else None

    def revoke_reviewer(self, reviewer_id: int) -> bool:
        with self._transaction() as con:
            cur = con.execute("UPDATE reviewers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              (_now(), int(reviewer_id)))
        return bool(cur.rowcount)

    def record_verdict(self, result: Any, reviewer: Reviewer, verdict: str, note: str | None = None,
                       *, decided_at: str | None = None) -> int:
        """Record a reviewer's verdict on a result of their brand (one transaction); returns the verdict id.

        ``counterfeit`` / ``genuine`` are also stored as a ``confirmed_fake`` / ``rejected`` outcome
        (so the label, seller history and ``train`` follow); ``appeal`` stores the seller's appeal note.
        The result's decision is recorded first when the store has none for it (a scan without
        ``--feedback-db``), so the label has the features ``train`` learns from.

        Raises:
            ValueError: an unknown verdict, an appeal without a note, a note too long, a result of
                another brand than the reviewer's.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {brief(verdict)}")
        note = replace_surrogates(note.strip())[0] if isinstance(note, str) and note.strip() else None
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ValueError(f"note is longer than {MAX_NOTE_CHARS} characters")
        if verdict == "appeal" and note is None:
            raise ValueError("an appeal needs a note saying what the seller claims")
        if result.brand != reviewer.brand_id:
            raise ValueError("a reviewer judges only their own brand's listings")
        version, at = result_version(result), decided_at or _now()
        if not self._has_decision(result.id, result.brand):
            self.record_decisions([result])
        with self._transaction() as con:
            outcome_id = None
            if VERDICTS[verdict] is not None:
                outcome_id = self._add_review_outcome(con, result, reviewer, VERDICTS[verdict], at)
            cur = con.execute("INSERT INTO verdicts (listing_id, brand_id, verdict, note, reviewer_id, decided_at, "
                              "result_version, outcome_id) VALUES (?,?,?,?,?,?,?,?)",
                              (result.id, result.brand, verdict, note, reviewer.id, at, version, outcome_id))
        return int(cur.lastrowid)

    def _has_decision(self, listing_id: str, brand_id: str) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM decisions WHERE listing_id = ? AND brand_id = ? LIMIT 1",
                               (listing_id, brand_id)).fetchone() is not None

    @staticmethod
    def _add_review_outcome(con: sqlite3.Connection, result: Any, reviewer: Reviewer, outcome: str, at: str) -> int:
        is_fake, source, stage = OUTCOMES[outcome]
        latest = con.execute("SELECT id, seller_id FROM decisions WHERE listing_id = ? AND brand_id = ? "
                             "ORDER BY id DESC LIMIT 1", (result.id, result.brand)).fetchone()
        row = {"listing_id": result.id, "brand_id": result.brand, "outcome": outcome, "source": source,
               "decided_at": at}
        cur = con.execute(
            "INSERT INTO outcomes (key, listing_id, brand_id, seller_id, outcome, is_fake, source, stage, reviewer, "
            "decided_at, decision_id, import_id, reporter) VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,?)",
            (_outcome_key(row) + f":{reviewer.id}", result.id, result.brand, latest[1] if latest else None, outcome,
             is_fake, source, stage, reviewer.who, at, latest[0] if latest else None, reviewer.who))
        _refresh_label(con, result.id, result.brand)
        return int(cur.lastrowid)

    def verdicts(self, brand_id: str | None = None) -> list[dict]:
        """Review-app verdicts (all, or one brand's), oldest first."""
        sql = "SELECT * FROM verdicts" + (" WHERE brand_id = ?" if brand_id is not None else "") + " ORDER BY id"
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, (brand_id,) if brand_id is not None else ())]

    def latest_verdicts(self, brand_id: str) -> dict[str, str]:
        """listing id -> the brand's latest verdict on it."""
        with self._connect() as con:
            rows = con.execute("SELECT listing_id, verdict FROM verdicts WHERE brand_id = ? ORDER BY id",
                               (brand_id,)).fetchall()
        return dict(rows)

    def confirmation_rate(self, brand_id: str) -> tuple[int, int]:
        """(confirmed, judged): of the brand's listings with a counterfeit/genuine verdict, how many are fakes.

        The latest verdict of each listing counts; appeals are not judgements."""
        with self._connect() as con:
            rows = con.execute("SELECT listing_id, verdict FROM verdicts WHERE brand_id = ? AND verdict != 'appeal' "
                               "ORDER BY id", (brand_id,)).fetchall()
        latest = dict(rows)
        return sum(v == "counterfeit" for v in latest.values()), len(latest)

    def stats(self) -> dict:
        with self._connect() as con:
            q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
            return {"decisions": q("SELECT COUNT(*) FROM decisions"),
                    "outcomes": q("SELECT COUNT(*) FROM outcomes"),
                    "labels": q("SELECT COUNT(*) FROM labels"),
                    "confirmed_fakes": q("SELECT COALESCE(SUM(is_fake), 0) FROM labels"),
                    "imports": q("SELECT COUNT(*) FROM imports")}


def _migrate(con: sqlite3.Connection, version: int) -> None:
    """Bring a store of an older schema version up to SCHEMA_VERSION, in one transaction."""
    if version >= SCHEMA_VERSION:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        columns = {r[1] for r in con.execute("PRAGMA table_info(outcomes)")}
        if "reporter" not in columns:  # version 1 -> 2 (version 3's tables come from the schema script)
            con.execute("ALTER TABLE outcomes ADD COLUMN reporter TEXT")
        if "photos" not in {r[1] for r in con.execute("PRAGMA table_info(decisions)")}:
            con.execute("ALTER TABLE decisions ADD COLUMN photos TEXT")
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _refresh_label(con: sqlite3.Connection, listing_id: str, brand_id: str) -> None:
    """Recompute the verdict of one (listing, brand) from all its outcomes."""
    rows = con.execute("SELECT id, is_fake, seller_id, decision_id FROM outcomes WHERE listing_id = ? AND brand_id = ? "
                       "ORDER BY COALESCE(decided_at, ''), stage, id", (listing_id, brand_id)).fetchall()
    if not rows:
        return
    last = rows[-1]
    # the decision the verdict is about: the one linked to the earliest-imported outcome
    first_linked = min(rows, key=lambda r: r[0])[3]
    seller = next((r[2] for r in reversed(rows) if r[2]), None)
    con.execute("INSERT OR REPLACE INTO labels (listing_id, brand_id, seller_id, is_fake, outcome_id, decision_id) "
                "VALUES (?,?,?,?,?,?)", (listing_id, brand_id, seller, last[1], last[0], first_linked))


def _outcome_key(row: Mapping[str, Any]) -> str:
    ident = [row["listing_id"], row["brand_id"], row["outcome"], row["source"], row["decided_at"] or ""]
    return hashlib.sha256(json.dumps(ident, ensure_ascii=True).encode()).hexdigest()


def _parse_outcome_file(data: bytes, path: Path) -> Iterator[tuple[int, dict | str]]:
    """(line number, validated row or a problem) per data row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OutcomeError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if path.suffix.lower() == ".csv" or (stripped and not stripped.startswith("{")):
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "listing_id" not in reader.fieldnames or "outcome" not in reader.fieldnames:
            raise OutcomeError(f"{path}: not JSON Lines, and not a CSV whose header has listing_id and outcome")
        for raw in reader:
            line = reader.line_num
            if None in raw:
                yield line, "more values than header columns"
                continue
            yield line, _validate({k: (v if v != "" else None) for k, v in raw.items()})
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, f"not valid JSON: {exc.msg}"
            continue
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
            yield n, f"cannot be read ({type(exc).__name__})"
            continue
        yield n, _validate(raw)


def _validate(raw: Any) -> dict | str:
    """The row as stored, or why it is refused (any odd value is a refusal, never a crash)."""
    try:
        return _checked(raw)
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        return f"cannot be read ({type(exc).__name__})"


def _checked(raw: Any) -> dict | str:
    if not isinstance(raw, dict):
        return f"must be an object, got {type(raw).__name__}"
    unknown = sorted(set(raw) - set(_ROW_FIELDS))
    if unknown:
        return f"unknown field(s) {unknown}; expected {list(_ROW_FIELDS)}"
    row: dict[str, Any] = {}
    for k in _ROW_FIELDS:
        v = raw.get(k)
        if v is not None and not isinstance(v, (str, int)) or isinstance(v, bool):
            return f"{k} must be a string, got {brief(v)}"
        if isinstance(v, int) and v.bit_length() > 64:
            return f"{k} is a number too long to be an id"
        v = None if v is None or not str(v).strip() else replace_surrogates(str(v).strip())[0]
        if v is not None and len(v) > MAX_FIELD_CHARS:
            return f"{k} is longer than {MAX_FIELD_CHARS} characters"
        row[k] = v
    if row["listing_id"] is None:
        return "listing_id is required"
    if row["outcome"] not in OUTCOMES:
        return f"outcome must be one of {sorted(OUTCOMES)}, got {brief(row['outcome'])}"
    expected = OUTCOMES[row["outcome"]][1]
    if row["source"] is None:
        row["source"] = expected
    elif row["source"] != expected:
        return f"outcome {row['outcome']} comes from source {expected!r}, not {row['source']!r}"
    if row["decided_at"] is not None:
        try:
            when = datetime.fromisoformat(row["decided_at"].replace("Z", "+00:00"))
        except ValueError:
            return f"decided_at {row['decided_at']!r} is not an ISO 8601 time"
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        row["decided_at"] = when.astimezone(timezone.utc).isoformat()
    return row


def write_outcomes(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write outcome rows as JSON Lines (a helper for tools and tests)."""
    from counterfeit_vision._atomic import atomic_write

    with atomic_write(path) as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False) + "\n")
    return Path(path)
