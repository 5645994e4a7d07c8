"""The evidence store's database: one SQLite file, ``DIR/evidence.sqlite3``.

Why SQLite: the store is written by several processes at once (Ray actors, two scans
naming one store) and read by key far more often than scanned. SQLite gives that in one
file with nothing to run: transactions (a batch is all there or not at all, so a scan
killed at any moment leaves whole batches), WAL mode (readers never block the writer,
writers queue behind a busy timeout instead of failing), an integrity check on open, and
it is in the standard library and already holds the feedback store. LMDB would be
faster per read but needs its own manifest, a size cap chosen up front and a package.

Tables::

    meta(key, value)                  format version and the stamp: every version the content depends on
    photos(sha256, shape, phash, boxes, dim, features)
                                      per photo (SHA-256 of its bytes): size and decode info, perceptual hash,
                                      OCR text boxes, window features (float16, whole photo first)
    photo_hits(sha256, index_state, hits)
                                      logo and reused-photo hits of the photo against one index version
    states(state, detail)             what the listings' results were scored with (catalogue and index
                                      fingerprints per brand, fusion, options)
    listings(seq, input_hash, position, listing, photos, candidates, text_sig, state, result)
                                      per scanned listing, in first-scanned order (``seq``)

The stamp holds the embedder name and weights digest, precision and device, the OCR
backend and its weights, the photo options and the library version. A store whose stamp
differs was made by other models: it is ignored and rebuilt (with a one-line warning),
never mixed. A file that fails ``PRAGMA quick_check`` (or is not a database at all) is
moved aside and rebuilt, also with one line.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from counterfeit_vision.errors import UserError
from counterfeit_vision.listing import Result
from counterfeit_vision.store.codec import canonical

__all__ = ["DB_NAME", "FORMAT_VERSION", "EvidenceStore", "ListingRecord", "StoreFullError", "StoredListing",
           "StoredPhoto"]

log = logging.getLogger(__name__)

DB_NAME = "evidence.sqlite3"
FORMAT_VERSION = 1
BUSY_TIMEOUT_MS = 60_000  # writers queue behind each other (Ray actors, two scans) rather than fail

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos(sha256 TEXT PRIMARY KEY, shape TEXT NOT NULL, phash TEXT, boxes TEXT NOT NULL,
                                  dim INTEGER, features BLOB);
CREATE TABLE IF NOT EXISTS photo_hits(sha256 TEXT NOT NULL, index_state TEXT NOT NULL, hits TEXT NOT NULL,
                                      PRIMARY KEY(sha256, index_state));
CREATE TABLE IF NOT EXISTS states(state TEXT PRIMARY KEY, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings(seq INTEGER PRIMARY KEY AUTOINCREMENT, input_hash TEXT NOT NULL UNIQUE,
                                    position INTEGER, listing TEXT NOT NULL, photos TEXT NOT NULL,
                                    candidates TEXT NOT NULL, text_sig TEXT NOT NULL, state TEXT NOT NULL,
                                    result TEXT NOT NULL);
"""


class StoreFullError(UserError):
    """The disk (or the store's size limit) is full: the run stops; whole batches written so far are kept."""


@dataclass(frozen=True)
class StoredPhoto:
    """What the store holds of one photo under one index version (hits None: not matched against it)."""

    sha256: str
    shape: dict          # {"size": [w, h], "info": {...}}
    phash: str | None
    boxes: str           # OCR text boxes, JSON (codec.decode_boxes)
    hits: str | None     # image hits, JSON (codec.decode_hits)


@dataclass(frozen=True)
class ListingRecord:
    """One scored listing as written: its identity, what it showed and named, and its result."""

    input_hash: str
    position: int
    listing: str          # codec.encode_listing
    photos: tuple[str | None, ...]
    candidates: tuple[str, ...]
    text_sig: str
    result: Result


@dataclass(frozen=True)
class StoredListing:
    """One listing as stored (``seq``: its place in first-scanned order)."""

    seq: int
    input_hash: str
    listing: str
    photos: tuple[str | None, ...]
    candidates: tuple[str, ...]
    text_sig: str
    state: str
    result: Result


class EvidenceStore:
    """The store in ``folder`` for content made with ``stamp`` (rebuilt when it was made with another).

    Args:
        folder: the store's folder (created).
        stamp: the versions the content depends on (see the module docstring).
        max_bytes: a size limit; past it writes fail as a full disk does (``StoreFullError``).
    """

    def __init__(self, folder: str | Path, stamp: dict, *, max_bytes: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self.stamp = canonical({"format": FORMAT_VERSION, **stamp})
        self.max_bytes = max_bytes
        self._con = self._open_checked()

    # ------------------------------------------------------------------ opening
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                              check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
        if self.max_bytes is not None:
            page = con.execute("PRAGMA page_size").fetchone()[0]
            con.execute(f"PRAGMA max_page_count={max(8, self.max_bytes // page)}")
        return con

    def _open_checked(self) -> sqlite3.Connection:
        con = None
        try:
            con = self._connect()
            ok = con.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(ok)
            with self._write(con):
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    con.execute(statement)
        except sqlite3.DatabaseError as exc:
            if _is_full(exc):
                raise _full(self.path) from None
            if con is not None:
                con.close()
            self._move_aside(f"is damaged ({str(exc).splitlines()[0][:80]})")
            return self._open_checked()
        made_with = con.execute("SELECT value FROM meta WHERE key='stamp'").fetchone()
        if made_with is None:
            with self._write(con):
                con.execute("INSERT OR IGNORE INTO meta VALUES('stamp', ?)", (self.stamp,))
            made_with = con.execute("SELECT value FROM meta WHERE key='stamp'").fetchone()
        if made_with[0] != self.stamp:
            log.warning("evidence store %s was made with other models (%s); rebuilding it",
                        self.folder, _stamp_difference(made_with[0], self.stamp))
            with self._write(con):
                for table in ("photos", "photo_hits", "states", "listings", "meta"):
                    con.execute(f"DELETE FROM {table}")
                con.execute("INSERT INTO meta VALUES('stamp', ?)", (self.stamp,))
        return con

    def _move_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{DB_NAME}.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**6}")
        log.warning("evidence store %s %s; moved it to %s and started a new one", self.path, why, aside.name)
        self.path.rename(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        self._con.close()

    @staticmethod
    def read_meta(folder: str | Path, key: str) -> str | None:
        """A meta value of the store in ``folder`` read without opening it for writing (None: no store or value)."""
        path = Path(folder) / DB_NAME
        if not path.is_file():
            return None
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000) as con:
                row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.DatabaseError:
            return None
        return None if row is None else row[0]

    def __enter__(self) -> "EvidenceStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- writing
    @contextmanager
    def _write(self, con: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One transaction (all or nothing); a full disk becomes ``StoreFullError``."""
        con = con or self._con
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                if con.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if _is_full(exc):
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise _full(self.path) from None
            raise

    def put_photos(self, photos: Iterable[tuple[StoredPhoto, int | None, bytes | None]], index_state: str) -> None:
        """Write photos (with their features) and their hits against ``index_state``, in one transaction."""
        with self._write() as con:
            for p, dim, features in photos:
                con.execute("INSERT INTO photos VALUES(?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET "
                            "dim=coalesce(excluded.dim, dim), features=coalesce(excluded.features, features)",
                            (p.sha256, json.dumps(p.shape), p.phash, p.boxes, dim, features))
                if p.hits is not None:
                    con.execute("INSERT OR REPLACE INTO photo_hits VALUES(?,?,?)", (p.sha256, index_state, p.hits))

    def carry_hits(self, shas: Iterable[str], old_state: str, new_state: str) -> int:
        """Photos a catalogue change cannot reach keep their hits under the new index version."""
        with self._write() as con:
            cur = con.executemany("INSERT OR IGNORE INTO photo_hits SELECT sha256, ?, hits FROM photo_hits "
                                  "WHERE sha256=? AND index_state=?", [(new_state, s, old_state) for s in shas])
            return cur.rowcount

    def put_state(self, state: str, detail: dict) -> None:
        with self._write() as con:
            con.execute("INSERT OR IGNORE INTO states VALUES(?, ?)", (state, canonical(detail)))

    def put_listings(self, records: Sequence[ListingRecord], state: str) -> None:
        """Write one batch of scored listings in one transaction; a listing already stored keeps its place."""
        with self._write() as con:
            for r in records:
                con.execute(
                    "INSERT INTO listings(input_hash, position, listing, photos, candidates, text_sig, state, result)"
                    " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(input_hash) DO UPDATE SET photos=excluded.photos, "
                    "candidates=excluded.candidates, text_sig=excluded.text_sig, state=excluded.state, "
                    "result=excluded.result",
                    (r.input_hash, r.position, r.listing, json.dumps(list(r.photos)), json.dumps(list(r.candidates)),
                     r.text_sig, state, json.dumps(r.result.to_dict(), ensure_ascii=False)))

    # ----------------------------------------------------------------- reading
    def photo(self, sha256: str, index_state: str) -> StoredPhoto | None:
        """The photo's findings under ``index_state``, or None when it has not been matched against it."""
        row = self._con.execute("SELECT p.shape, p.phash, p.boxes, h.hits FROM photos p JOIN photo_hits h "
                                "ON h.sha256 = p.sha256 WHERE p.sha256=? AND h.index_state=?",
                                (sha256, index_state)).fetchone()
        return None if row is None else StoredPhoto(sha256, json.loads(row[0]), row[1], row[2], row[3])

    def photo_hits(self, sha256s: Iterable[str], index_state: str) -> dict[str, str]:
        out = {}
        for s in set(sha256s):
            row = self._con.execute("SELECT hits FROM photo_hits WHERE sha256=? AND index_state=?",
                                    (s, index_state)).fetchone()
            if row is not None:
                out[s] = row[0]
        return out

    def photo_boxes(self, sha256s: Iterable[str]) -> dict[str, str]:
        out = {}
        for s in set(sha256s):
            row = self._con.execute("SELECT boxes FROM photos WHERE sha256=?", (s,)).fetchone()
            if row is not None:
                out[s] = row[0]
        return out

    def features(self, sha256s: Iterable[str]) -> dict[str, tuple[int, bytes]]:
        out = {}
        for s in set(sha256s):
            row = self._con.execute("SELECT dim, features FROM photos WHERE sha256=? AND features IS NOT NULL",
                                    (s,)).fetchone()
            if row is not None:
                out[s] = (row[0], row[1])
        return out

    def results(self, input_hashes: Iterable[str], state: str) -> dict[str, Result]:
        """The stored results of these listings scored under ``state`` (others are absent)."""
        out = {}
        for h in set(input_hashes):
            row = self._con.execute("SELECT result FROM listings WHERE input_hash=? AND state=?",
                                    (h, state)).fetchone()
            if row is not None:
                out[h] = Result.from_dict(json.loads(row[0]))
        return out

    def listings(self) -> Iterator[StoredListing]:
        """Every stored listing, in the order it was first scanned."""
        rows = self._con.execute("SELECT seq, input_hash, listing, photos, candidates, text_sig, state, result "
                                 "FROM listings ORDER BY seq").fetchall()
        for seq, h, listing, photos, cands, sig, state, result in rows:
            yield StoredListing(seq, h, listing, tuple(json.loads(photos)), tuple(json.loads(cands)), sig, state,
                                Result.from_dict(json.loads(result)))

    def state(self, state: str) -> dict | None:
        row = self._con.execute("SELECT detail FROM states WHERE state=?", (state,)).fetchone()
        return None if row is None else json.loads(row[0])

    def meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    def counts(self) -> dict[str, int]:
        return {t: self._con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("photos", "photo_hits", "listings")}


def _is_full(exc: BaseException) -> bool:
    return "database or disk is full" in str(exc) or "disk I/O error" in str(exc) and "full" in str(exc)


def _full(path: Path) -> StoreFullError:
    return StoreFullError(f"the evidence store {path} cannot grow: the disk (or its size limit) is full. "
                          "Free space and run the same command again: it resumes after the last whole batch")


def _stamp_difference(old: str, new: str) -> str:
    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return "unreadable stamp"
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys[:3]) or "other stamp"
