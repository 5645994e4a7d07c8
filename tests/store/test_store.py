"""The evidence store: listings remembered, delta re-scans equal to full re-scans, damaged and full stores,
concurrent writers, and listing files in every format."""

from __future__ import annotations

import json
import multiprocessing
import random
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from counterfeit_vision.detector import DetectorConfig
from counterfeit_vision.scan.rescan import RescanOptions, rescan
from counterfeit_vision.scan.runner import ScanOptions, scan_file
from counterfeit_vision.store import DB_NAME, EvidenceStore, StoreFullError
from counterfeit_vision.store.db import ListingRecord

TITLE_ONLY = DetectorConfig(use_images=False, use_ocr=False, ocr="none")
WORDS = ["tote", "bag", "sneakers", "replica", "case", "for", "AAA", "inspired", "leather", "mug", "quality", "new"]
NAMES = ["Velora", "V3l0ra", "Korvex", "Корвекс", "Nimbly", "Haldane", "Zentaro", "Zentar0", "Quillon"]


def _listings(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            words = rng.sample(WORDS, 4) + rng.sample(NAMES, rng.choice((0, 1, 1, 2)))
            rng.shuffle(words)
            f.write(json.dumps({"id": f"l{i}", "title": " ".join(words), "price": rng.choice((19, 49, 300, 900)),
                                "currency": "USD", "seller_id": f"s{i % 17}"}, ensure_ascii=False) + "\n")
    return path


def _scan(tmp: Path, listings: Path, catalog: Path, out: str, store: Path | None, **kw) -> list[dict]:
    scan_file(ScanOptions(listings=listings, catalog=catalog, out=tmp / out, index_dir=tmp / "index",
                          config=TITLE_ONLY, store=store, progress=False, batch_size=kw.get("batch_size", 16)))
    return (tmp / out).read_text(encoding="utf-8")


def _catalog(tmp: Path, sample_catalog_dir: Path) -> Path:
    cat = tmp / "catalog"
    shutil.copytree(sample_catalog_dir, cat)
    return cat


def _add_zentaro(cat: Path) -> None:
    (cat / "zentaro").mkdir()
    (cat / "zentaro" / "brand.yaml").write_text(
        "id: zentaro\nname: Zentaro\naliases: [Zentarro]\ncategories: [bags]\n"
        "price_floor: {amount: 200, currency: USD}\n", encoding="utf-8")


def _set_thresholds(cat: Path, brand: str) -> None:
    yaml = cat / brand / "brand.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + "thresholds: {takedown: 0.95, review: 0.2}\n",
                    encoding="utf-8")


@pytest.mark.parametrize("change", ["brand_added", "brand_removed", "threshold_changed"])
def test_delta_rescan_equals_full_rescan(tmp_path, sample_catalog_dir, change):
    cat = _catalog(tmp_path, sample_catalog_dir)
    listings = _listings(tmp_path / "listings.jsonl", 300)
    store = tmp_path / "store"
    _scan(tmp_path, listings, cat, "first.jsonl", store)
    if change == "brand_added":
        _add_zentaro(cat)
    elif change == "brand_removed":
        shutil.rmtree(cat / "haldane")
    else:
        _set_thresholds(cat, "velora")
    outcome = rescan(RescanOptions(store=store, catalog=cat, index_dir=tmp_path / "index", out=tmp_path / "delta.jsonl",
                                   progress=False))
    full = _scan(tmp_path, listings, cat, "full.jsonl", None)
    assert (tmp_path / "delta.jsonl").read_text(encoding="utf-8") == full
    first = (tmp_path / "first.jsonl").read_text(encoding="utf-8")
    assert full != first  # the change changed results ...
    assert 0 < outcome.rescored < 300  # ... and only the listings it can reach were scored again
    # the store now holds the new state: a repeat scan is a lookup giving the same bytes
    assert _scan(tmp_path, listings, cat, "again.jsonl", store) == full


def test_repeat_scan_is_a_lookup_and_equal_to_no_store(tmp_path, sample_catalog_dir, monkeypatch):
    cat = _catalog(tmp_path, sample_catalog_dir)
    listings = _listings(tmp_path / "listings.jsonl", 60)
    store = tmp_path / "store"
    plain = _scan(tmp_path, listings, cat, "plain.jsonl", None)
    assert _scan(tmp_path, listings, cat, "first.jsonl", store) == plain
    from counterfeit_vision.detector import Detector

    def never(*a, **k):
        raise AssertionError("a stored listing was scored again")

    monkeypatch.setattr(Detector, "score_detailed", never)
    assert _scan(tmp_path, listings, cat, "warm.jsonl", store) == plain
    # another model version's store is ignored and rebuilt, never mixed
    monkeypatch.undo()
    with EvidenceStore(store, {"models": "other"}) as other:
        assert other.counts()["listings"] == 0
    assert _scan(tmp_path, listings, cat, "rebuilt.jsonl", store) == plain


def test_damaged_store_is_moved_aside_and_rebuilt(tmp_path, sample_catalog_dir, caplog):
    cat = _catalog(tmp_path, sample_catalog_dir)
    listings = _listings(tmp_path / "listings.jsonl", 30)
    store = tmp_path / "store"
    plain = _scan(tmp_path, listings, cat, "plain.jsonl", store)
    db = store / DB_NAME
    data = bytearray(db.read_bytes())
    db.write_bytes(bytes(data[:len(data) // 2]) + b"\x13" * 4096)  # truncated, then garbage
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert _scan(tmp_path, listings, cat, "again.jsonl", store) == plain
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert list(store.glob(f"{DB_NAME}.damaged-*"))


def test_full_disk_stops_with_a_clear_error_and_a_restart_resumes(tmp_path, sample_catalog_dir, monkeypatch):
    cat = _catalog(tmp_path, sample_catalog_dir)
    listings = _listings(tmp_path / "listings.jsonl", 400)
    store = tmp_path / "store"
    plain = _scan(tmp_path, listings, cat, "plain.jsonl", None)
    monkeypatch.setenv("CV_STORE_MAX_BYTES", str(96 * 1024))
    with pytest.raises(StoreFullError, match="full"):
        _scan(tmp_path, listings, cat, "out.jsonl", store)
    assert not (tmp_path / "out.jsonl").exists()
    with sqlite3.connect(store / DB_NAME) as con:
        kept = con.execute("select count(*) from listings").fetchone()[0]
    assert 0 < kept < 400 and kept % 16 == 0  # whole batches only
    monkeypatch.delenv("CV_STORE_MAX_BYTES")
    assert _scan(tmp_path, listings, cat, "out.jsonl", store) == plain


def _write_many(folder: str, worker: int, n: int) -> None:
    from counterfeit_vision.listing import Result

    with EvidenceStore(folder, {"models": "m"}) as store:
        for start in range(0, n, 10):
            store.put_listings([ListingRecord(f"{worker}-{i}", i, "{}", (), (), "", Result(f"{worker}-{i}", "pass", 0.0,
                                                                                            None))
                                for i in range(start, start + 10)], "s")


def test_two_processes_write_one_store(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), w, 300)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with EvidenceStore(tmp_path, {"models": "m"}) as store:
        ids = [s.input_hash for s in store.listings()]
    assert sorted(ids) == sorted(f"{w}-{i}" for w in (1, 2) for i in range(300))
    with sqlite3.connect(tmp_path / DB_NAME) as con:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_listings_from_csv_parquet_and_bom_rows_give_the_same_results(tmp_path, sample_catalog_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from counterfeit_vision.listing import read_results

    cat = _catalog(tmp_path, sample_catalog_dir)
    src = _listings(tmp_path / "listings.jsonl", 40)
    rows = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines()]
    bom = tmp_path / "bom.jsonl"
    bom.write_text("".join("\ufeff" + json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    csv_path = tmp_path / "listings.csv"
    import csv

    with csv_path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({**r, "price": str(r["price"])} for r in rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "listings.parquet")
    want = _scan(tmp_path, src, cat, "jsonl.jsonl", None)
    for path in (bom, csv_path, tmp_path / "listings.parquet"):
        assert _scan(tmp_path, path, cat, f"{path.suffix[1:]}.jsonl", None) == want, path
    scan_file(ScanOptions(listings=src, catalog=cat, out=tmp_path / "r.parquet", index_dir=tmp_path / "index",
                          config=TITLE_ONLY, progress=False))
    back = [json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in read_results(tmp_path / "r.parquet")]
    assert "".join(back) == want


def test_store_option_reaches_the_detector_config(tmp_path):
    opts = ScanOptions(listings=tmp_path / "x.jsonl", catalog=tmp_path, out=tmp_path / "o.jsonl",
                       index_dir=tmp_path / "i", config=replace(TITLE_ONLY), store=tmp_path / "store")
    assert opts.config.store == str(tmp_path / "store")


def test_scan_killed_mid_way_resumes_to_the_same_file(tmp_path, sample_catalog_dir):
    import os
    import signal
    import subprocess
    import sys
    import time

    cat = _catalog(tmp_path, sample_catalog_dir)
    listings = _listings(tmp_path / "listings.jsonl", 2400, seed=5)
    want = _scan(tmp_path, listings, cat, "uninterrupted.jsonl", None, batch_size=4)
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "counterfeit_vision", "scan", str(listings), "--catalog", str(cat), "--index",
           str(tmp_path / "index"), "--out", str(tmp_path / "out.jsonl"), "--store", str(store), "--no-images",
           "--no-ocr", "--batch-size", "4", "-q"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored, deadline = 0, time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(store / DB_NAME, timeout=5) as con:
                stored = con.execute("select count(*) from listings").fetchone()[0]
        except sqlite3.Error:
            stored = 0
        if stored >= 40:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 40 <= stored < 2400, "the scan was not killed mid-way"
    assert not (tmp_path / "out.jsonl").exists()
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == want
