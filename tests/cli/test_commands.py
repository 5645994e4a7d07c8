"""The CLI end to end on the sample data: every row written, each decision reached, bad rows isolated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from counterfeit_vision.cli.main import main

pytestmark = pytest.mark.slow


def originals(manifest: dict) -> int:
    """Reference images in an index (augmented views of them are extra entries)."""
    return sum(1 for e in manifest["entries"].values() if not e.get("augmentation"))


@pytest.fixture(scope="module")
def scan(tmp_path_factory, sample_catalog_dir, sample_listings):
    out_dir = tmp_path_factory.mktemp("scan")
    out = out_dir / "results.jsonl"
    code = main(["scan", str(sample_listings), "--catalog", str(sample_catalog_dir), "--index",
                 str(out_dir / "index"), "--out", str(out), "--device", "cpu", "-q"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return code, {r["id"]: r for r in rows}, rows, out_dir


def test_scan_writes_every_row_in_order_and_exits_zero(scan, sample_listings):
    code, by_id, rows, _ = scan
    assert code == 0
    n_lines = sum(1 for line in sample_listings.read_text().splitlines() if line.strip())
    assert len(rows) == n_lines
    assert rows[0]["id"] == "genuine-official"
    for r in rows:
        assert set(r) >= {"id", "decision", "confidence", "brand", "signals", "evidence", "error", "model"}


def test_each_decision_is_reached(scan):
    _, by_id, rows, _ = scan
    assert {r["decision"] for r in rows} == {"takedown", "review", "pass"}
    assert by_id["fake-replica"]["decision"] == "takedown" and by_id["fake-replica"]["brand"] == "velora"
    assert by_id["fake-evasive"]["decision"] == "takedown"
    hidden = by_id["fake-hidden-logo"]  # logo in the photo, brand absent from the title
    assert hidden["decision"] == "review" and hidden["brand"] == "haldane"
    assert any(e["kind"] == "logo" and e.get("box") for e in hidden["evidence"])
    assert by_id["genuine-official"]["decision"] == "pass"
    assert by_id["genuine-haldane-authorized"]["decision"] == "pass"
    assert by_id["accessory-case"]["decision"] == "pass"
    assert by_id["unrelated-mug"]["decision"] == "pass" and by_id["unrelated-mug"]["brand"] is None


def test_results_name_the_embedder_and_carry_evidence(scan):
    _, by_id, _, _ = scan
    fake = by_id["fake-replica"]
    assert fake["model"]["embedder"] == "efficientnet_lite0"
    kinds = {e["kind"] for e in fake["evidence"]}
    assert "title" in kinds and "price" in kinds
    title_ev = next(e for e in fake["evidence"] if e["kind"] == "title")
    assert title_ev["span"][1] > title_ev["span"][0]


def test_bad_inputs_are_isolated(scan):
    _, by_id, _, _ = scan
    assert any("not found" in n for n in by_id["bad-missing-image"]["notes"])
    assert any("image ignored" in n for n in by_id["bad-corrupt-image"]["notes"])
    assert any("image ignored" in n for n in by_id["bad-not-an-image"]["notes"])
    assert any("too large" in n for n in by_id["bad-bomb"]["notes"])
    assert "empty title" in by_id["bad-empty-title"]["notes"]
    assert any("first" in n for n in by_id["bad-huge-title"]["notes"])
    assert any("ignored" in n for n in by_id["bad-negative-price"]["notes"])
    assert any("colour" in n for n in by_id["bad-unknown-field"]["notes"])
    assert any("ignored" in n for n in by_id["bad-nan-price"]["notes"])
    assert "not valid JSON" in by_id["row-20"]["error"]
    assert "JSON object" in by_id["row-21"]["error"]
    for r in by_id.values():
        if r["error"] is None and not r["id"].startswith("bad-"):
            assert not r["notes"], r


def test_index_is_reused_and_mismatch_is_explained(scan, sample_catalog_dir, tmp_path, capsys):
    from counterfeit_vision.index.reference import read_manifest

    _, _, _, out_dir = scan
    manifest = read_manifest(out_dir / "index")
    assert manifest["embedder"]["name"] == "efficientnet_lite0" and originals(manifest) == 24
    manifest["embedder"]["weights_digest"] = "something-else"
    bad = tmp_path / "index"
    shutil.copytree(out_dir / "index", bad)
    (bad / "manifest.json").write_text(json.dumps(manifest))
    code = main(["brand", "remove", "velora", "--index", str(bad), "--device", "cpu"])
    assert code == 2
    assert "rebuild it with" in capsys.readouterr().err
    # a scan never replaces an index built by another embedder: it stops and names the rebuild
    before = (bad / "manifest.json").read_bytes()
    code = main(["scan", str(sample_listings_path(sample_catalog_dir)), "--catalog", str(sample_catalog_dir),
                 "--index", str(bad), "--out", str(tmp_path / "o.jsonl"), "--device", "cpu", "-q", "--no-ocr"])
    assert code == 2 and "index build" in capsys.readouterr().err
    assert (bad / "manifest.json").read_bytes() == before and not (tmp_path / "o.jsonl").exists()


def sample_listings_path(catalog_dir: Path) -> Path:
    return catalog_dir.parent / "samples" / "listings.jsonl"


def test_broken_catalogue_stops_before_work(tmp_path, sample_listings, capsys):
    (tmp_path / "cat" / "acme").mkdir(parents=True)
    (tmp_path / "cat" / "acme" / "brand.yaml").write_text("id: acme\n")
    code = main(["scan", str(sample_listings), "--catalog", str(tmp_path / "cat"), "--out", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert "name: is required" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_brand_add_and_remove_incrementally(tmp_path, sample_catalog_dir, capsys):
    from counterfeit_vision.index.reference import read_manifest

    catalog = tmp_path / "catalog"
    shutil.copytree(sample_catalog_dir, catalog, ignore=shutil.ignore_patterns("haldane"))
    index = tmp_path / "index"
    assert main(["index", "build", "--catalog", str(catalog), "--index", str(index), "--device", "cpu"]) == 0
    before = read_manifest(index)
    assert originals(before) == 18
    assert main(["brand", "add", str(sample_catalog_dir / "haldane"), "--catalog", str(catalog),
                 "--index", str(index), "--device", "cpu"]) == 0
    after = read_manifest(index)
    assert originals(after) == 24 and (catalog / "haldane" / "brand.yaml").exists()
    # the other brands' vectors keep their ids: nothing was rebuilt
    old = {k: v for k, v in after["entries"].items() if v["brand_id"] != "haldane"}
    assert old == before["entries"]
    # the index is out of step with a catalogue that has another brand: an error naming the fix, nothing rebuilt
    stamp = (index / "manifest.json").read_bytes()
    code = main(["scan", str(catalog / ".." / "none.jsonl"), "--catalog", str(sample_catalog_dir), "--index",
                 str(index), "--out", str(tmp_path / "o.jsonl"), "--device", "cpu", "-q"])
    assert code == 2  # the listings file is missing: checked before loading models
    (tmp_path / "l.jsonl").write_text('{"id": "a", "title": "Haldane jacket"}\n')
    shutil.rmtree(catalog / "velora")  # catalogue now lacks velora, which the index holds
    code = main(["scan", str(tmp_path / "l.jsonl"), "--catalog", str(catalog), "--index", str(index),
                 "--out", str(tmp_path / "o.jsonl"), "--device", "cpu", "-q", "--no-ocr"])
    err = capsys.readouterr().err
    assert code == 2 and "out of step" in err and "brand remove velora" in err
    assert (index / "manifest.json").read_bytes() == stamp and not (tmp_path / "o.jsonl").exists()
    shutil.copytree(sample_catalog_dir / "velora", catalog / "velora")

    # remove: out of the index and (by default the catalogue the index was built from) out of the catalogue
    assert main(["brand", "remove", "haldane", "--index", str(index), "--device", "cpu"]) == 0
    assert originals(read_manifest(index)) == 18
    assert not (catalog / "haldane").exists() and len(list((catalog / ".removed").glob("haldane-*"))) == 1
    assert main(["brand", "remove", "haldane", "--index", str(index), "--device", "cpu"]) == 2
    assert "not in the index" in capsys.readouterr().err
    # adding it again where a folder of that id exists needs --replace
    shutil.copytree(sample_catalog_dir / "haldane", catalog / "haldane")
    assert main(["brand", "add", str(sample_catalog_dir / "haldane"), "--catalog", str(catalog),
                 "--index", str(index), "--device", "cpu", "-q"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["brand", "add", str(sample_catalog_dir / "haldane"), "--catalog", str(catalog),
                 "--index", str(index), "--device", "cpu", "-q", "--replace"]) == 0
    assert originals(read_manifest(index)) == 24
    assert main(["brand", "remove", "haldane", "--index", str(index), "--catalog", str(catalog), "--device",
                 "cpu"]) == 0
    # adding a brand folder that fails validation changes nothing
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "brand.yaml").write_text("id: bad\nname: Bad\nprice_floor: 3\n")
    assert main(["brand", "add", str(bad), "--catalog", str(catalog), "--index", str(index)]) == 2
    assert originals(read_manifest(index)) == 18 and not (catalog / "bad").exists()


def test_evidence_numbers_photos_within_each_listing(scan):
    _, by_id, _, _ = scan
    for r in by_id.values():
        for e in r["evidence"]:
            if "image_index" in e:
                assert e["image_index"] == 0, (r["id"], e)  # every sample listing has one photo
