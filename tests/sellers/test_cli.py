"""``sellers`` and ``testbuy`` commands: their row contracts, and personal identifiers never in clear."""

from __future__ import annotations

import csv
import json

import pytest

from counterfeit_vision.cli.main import main
from counterfeit_vision.feedback.store import FeedbackStore, write_outcomes
from counterfeit_vision.listing import Listing, Photo, Result

PHONE, IBAN = "+44 7700 900123", "GB33BUKB20201555555555"
SHA = "ab" * 32


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    results, listings = [], []
    plan = [("r1", "ring-1", "takedown", 0.95, SHA), ("r2", "ring-2", "review", 0.55, SHA),
            ("r3", "ring-3", "review", 0.5, None), ("h1", "honest", "pass", 0.05, "cd" * 32),
            ("u1", "unbranded-1", "pass", 0.0, "ef" * 32), ("u2", "unbranded-2", "pass", 0.0, "ef" * 32)]
    for lid, seller, decision, conf, sha in plan:
        brand = None if seller.startswith("unbranded") else "velora"
        results.append(Result(lid, decision, conf, brand, photos=(Photo(f"{lid}.jpg", sha, None),),
                              seller_id=seller).to_dict())
        listings.append({"id": lid, "title": "Velora tote", "seller_id": seller, "price": 120, "sales": 40,
                         **({"contact": PHONE} if seller in ("ring-2", "ring-3") else {}),
                         **({"payment_id": IBAN} if seller == "ring-3" else {}),
                         "seller_name": f"LuxWatch {seller[-1]}" if seller.startswith("ring") else None})
    res = _write_jsonl(tmp_path / "results.jsonl", results)
    with res.open("a") as f:
        f.write("{not json\n")  # a bad row: skipped with a note, the rest used
    lst = _write_jsonl(tmp_path / "listings.jsonl", listings)
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record_decisions([Result.from_dict(r) for r in results],
                           listings=[Listing(r["id"], seller_id=r["seller_id"]) for r in results])
    report = store.import_outcomes(write_outcomes(tmp_path / "o.jsonl", [
        {"listing_id": "r1", "outcome": "confirmed_fake", "decided_at": "2026-01-01T00:00:00Z"}]))
    assert report.ok
    return res, lst, db


def test_sellers_rows_have_exactly_the_contract_keys(files, tmp_path, capsys):
    res, lst, db = files
    out = tmp_path / "sellers.jsonl"
    assert main(["sellers", str(res), "--listings", str(lst), "--feedback-db", str(db), "--store",
                 str(tmp_path / "absent"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "line 7" in err and "--store" in err
    rows = {r["seller_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"ring-1", "ring-2", "ring-3", "honest", "unbranded-1", "unbranded-2"}
    for r in rows.values():
        assert list(r) == ["seller_id", "risk", "network_id", "reasons", "links"]
        assert 0 <= r["risk"] <= 1 and all(list(lk) == ["seller_id", "kind", "evidence"] for lk in r["links"])
    ring = {rows[s]["network_id"] for s in ("ring-1", "ring-2", "ring-3")}
    assert len(ring) == 1 and None not in ring
    assert rows["honest"]["network_id"] is None and rows["unbranded-1"]["network_id"] is None  # unbranded: no link
    kinds = {(lk["seller_id"], lk["kind"]) for lk in rows["ring-2"]["links"]}
    assert {("ring-1", "photo"), ("ring-3", "contact"), ("ring-3", "store_name")} <= kinds
    assert rows["ring-1"]["risk"] > rows["honest"]["risk"]
    assert rows["ring-2"]["risk"] > rows["honest"]["risk"]  # the network's confirmed counterfeiter raises it
    assert any("ring-1" in why for why in rows["ring-2"]["reasons"])


def test_testbuy_csv_one_per_network_unless_asked(files, tmp_path):
    res, lst, db = files
    out = tmp_path / "tb.csv"
    assert main(["testbuy", str(res), "--budget", "10", "--listings", str(lst), "--feedback-db", str(db),
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["rank", "listing_id", "seller_id", "network_id", "brand", "confidence", "p_confirm",
                             "information", "reach", "value", "reason"]
    ids = [r["listing_id"] for r in rows]
    # r1 already has a verdict; one listing of the ring; unbranded listings confirm nothing
    assert "r1" not in ids and "u1" not in ids and len({r["network_id"] for r in rows if r["network_id"]}) == 1
    assert sum(r["network_id"] != "" for r in rows) == 1 and ids[0] in ("r2", "r3")
    assert all(r["reason"] for r in rows) and [float(r["value"]) for r in rows] == \
        sorted((float(r["value"]) for r in rows), reverse=True)
    assert main(["testbuy", str(res), "--budget", "10", "--per-network", "2", "--listings", str(lst),
                 "--feedback-db", str(db), "--out", str(out)]) == 0
    assert {r["listing_id"] for r in csv.DictReader(out.open())} >= {"r2", "r3"}
    assert main(["testbuy", str(res), "--budget", "1", "--out", str(out)]) == 0
    assert len(list(csv.DictReader(out.open()))) == 1


def test_contact_and_payment_identifiers_never_appear_in_clear(files, tmp_path, capsys):
    res, lst, db = files
    listing = Listing.from_dict({"id": "x", "contact": PHONE, "payment_id": IBAN})
    assert PHONE not in repr(listing) and IBAN not in repr(listing) and listing.contact_hash.startswith("hmac:")
    sellers, tb = tmp_path / "s.jsonl", tmp_path / "t.csv"
    assert main(["sellers", str(res), "--listings", str(lst), "--out", str(sellers)]) == 0
    assert main(["testbuy", str(res), "--listings", str(lst), "--budget", "5", "--per-network", "3",
                 "--out", str(tb)]) == 0
    printed = capsys.readouterr()
    digits = "".join(c for c in PHONE if c.isdigit())
    for text in (sellers.read_text(), tb.read_text(), printed.out, printed.err):
        for clear in (PHONE, IBAN, digits, "7700", "BUKB"):
            assert clear not in text
    assert "hmac:" in sellers.read_text()  # the links say which hashed identifier they share


def test_missing_files_and_bad_options_exit_2(tmp_path, files, capsys):
    res, _, _ = files
    assert main(["sellers", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert main(["testbuy", str(res), "--budget", "-1"]) == 2
    assert main(["sellers", str(res), "--phash-bits", "99", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_scan_results_carry_the_seller_and_round_trip(sample_catalog_dir, tmp_path):
    from counterfeit_vision.detector import Detector, DetectorConfig

    det = Detector.from_catalog(sample_catalog_dir, config=DetectorConfig(use_images=False, use_ocr=False))
    r = det.score({"id": "a", "title": "Velora style tote replica", "seller_id": "shop-1"})
    back = Result.from_dict(json.loads(json.dumps(r.to_dict())))
    assert r.seller_id == back.seller_id == "shop-1" and back.to_dict() == r.to_dict()
    assert Result.from_dict({"id": "a", "decision": "pass", "confidence": 0}).seller_id is None


def test_the_evidence_page_shows_the_sellers_network(files, tmp_path):
    res, lst, db = files
    page = tmp_path / "report.html"
    assert main(["sellers", str(res), "--listings", str(lst), "--feedback-db", str(db), "--out",
                 str(tmp_path / "s.jsonl"), "--report", str(page)]) == 0
    rows = {r["seller_id"]: r for r in map(json.loads, (tmp_path / "s.jsonl").read_text().splitlines())}
    html = page.read_text()
    assert html.count('class="seller-network"') == 3  # the three flagged listings' cards
    assert rows["ring-2"]["network_id"] in html and "confirmed counterfeiter ring-1" in html
    assert PHONE not in html and IBAN not in html


def test_results_of_a_scan_never_hold_clear_identifiers(sample_catalog_dir):
    from counterfeit_vision.detector import Detector, DetectorConfig

    det = Detector.from_catalog(sample_catalog_dir, config=DetectorConfig(use_images=False, use_ocr=False))
    listing = Listing.from_dict({"id": "a", "title": "Velora replica tote", "seller_id": "s", "contact": PHONE,
                                 "payment_id": IBAN})
    text = json.dumps(det.score(listing).to_dict())
    assert PHONE not in text and IBAN not in text and "7700" not in text


def test_odd_results_rows_are_skipped_or_cleaned_never_fatal(tmp_path, capsys):
    rows = [{"id": "a", "decision": "review", "confidence": 0.5, "brand": "velora", "seller_id": "s1",
             "photos": [{"path": "a.jpg", "sha256": 12345, "phash": ["x"]}]},
            {"id": "b", "decision": "maybe", "confidence": 0.5},
            {"id": "c", "decision": "review", "confidence": 0.5, "brand": "velora", "seller_id": "s2",
             "photos": [{"path": "c.jpg", "sha256": None, "phash": "zz"}]},
            {"id": "d", "decision": "pass", "confidence": 0.0, "seller_id": 7}]
    res = _write_jsonl(tmp_path / "r.jsonl", rows)
    out = tmp_path / "s.jsonl"
    assert main(["sellers", str(res), "--out", str(out)]) == 0
    assert "line 2" in capsys.readouterr().err
    assert [json.loads(x)["seller_id"] for x in out.read_text().splitlines()] == ["s1", "s2"]
