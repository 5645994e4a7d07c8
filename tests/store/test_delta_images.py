"""Delta re-scans with photos: a reference photo added to a brand and a brand removed give exactly the
results of a full re-scan (the sample catalogue, its listings and their photos, the real embedder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from counterfeit_vision.detector import DetectorConfig
from counterfeit_vision.scan.rescan import RescanOptions, rescan
from counterfeit_vision.scan.runner import ScanOptions, scan_file

pytestmark = pytest.mark.slow
CONFIG = DetectorConfig(device="cpu", use_ocr=False, ocr="none")


def _scan(tmp: Path, listings: Path, cat: Path, out: str, store: Path | None) -> str:
    scan_file(ScanOptions(listings=listings, catalog=cat, out=tmp / out, index_dir=tmp / "index", config=CONFIG,
                          store=store, progress=False, batch_size=4))
    # rows that are not listings (bad JSON) are not stored, so rescan does not write them
    return "".join(x + "\n" for x in (tmp / out).read_text(encoding="utf-8").splitlines()
                   if not json.loads(x)["error"])


def _rescan(tmp: Path, cat: Path, store: Path, out: str):
    outcome = rescan(RescanOptions(store=store, catalog=cat, index_dir=tmp / "index", out=tmp / out, progress=False,
                                   batch_size=4))
    return outcome, (tmp / out).read_text(encoding="utf-8")


def test_reference_added_then_brand_removed(tmp_path, sample_catalog_dir, sample_listings):
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.onboarding import offboard_brand, onboard_brand_folder
    from counterfeit_vision.index.reference import ReferenceIndex

    cat, store = tmp_path / "catalog", tmp_path / "store"
    shutil.copytree(sample_catalog_dir, cat)
    first = _scan(tmp_path, sample_listings, cat, "first.jsonl", store)
    n = len(first.splitlines())

    # a reference photo added to korvex (its official product photo, as a listing shows it)
    staging = tmp_path / "staging" / "korvex"
    shutil.copytree(cat / "korvex", staging)
    shutil.copyfile(sample_listings.parent / "images" / "korvex_resale.jpg", staging / "references" / "resale.jpg")
    emb = create_embedder("efficientnet_lite0", device="cpu")
    index = ReferenceIndex.load(tmp_path / "index", expect=emb.info)
    onboard_brand_folder(staging, catalog_dir=cat, index=index, index_dir=tmp_path / "index", embedder=emb,
                         replace=True)
    outcome, delta = _rescan(tmp_path, cat, store, "delta1.jsonl")
    full = _scan(tmp_path, sample_listings, cat, "full1.jsonl", None)
    assert delta == full
    assert full != first and 0 < outcome.rescored < n

    # then a brand removed
    offboard_brand("haldane", catalog_dir=cat, index=index, index_dir=tmp_path / "index", embedder=emb)
    outcome, delta = _rescan(tmp_path, cat, store, "delta2.jsonl")
    full2 = _scan(tmp_path, sample_listings, cat, "full2.jsonl", None)
    assert delta == full2
    assert full2 != full and 0 < outcome.rescored < n
