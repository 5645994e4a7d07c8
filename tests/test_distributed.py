"""Ray Data engine: the same results as the local scan, in input order."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="ray is optional: pip install 'counterfeit-vision[distributed]'")
pytestmark = pytest.mark.slow


def test_ray_scan_matches_local_scan(tmp_path, sample_catalog_dir, sample_listings):
    from counterfeit_vision.cli import main

    common = ["--catalog", str(sample_catalog_dir), "--index", str(tmp_path / "index"), "--device", "cpu",
              "--no-ocr", "-q", "--batch-size", "4"]
    assert main(["scan", str(sample_listings), "--out", str(tmp_path / "local.jsonl"), *common]) == 0
    try:
        assert main(["scan", str(sample_listings), "--out", str(tmp_path / "ray.jsonl"), "--engine", "ray",
                     "--actors", "1", *common]) == 0
    finally:
        ray.shutdown()
    local = [json.loads(x) for x in (tmp_path / "local.jsonl").read_text().splitlines()]
    remote = [json.loads(x) for x in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert [r["id"] for r in remote] == [r["id"] for r in local]
    for a, b in zip(local, remote):
        assert a["decision"] == b["decision"] and a["brand"] == b["brand"]
        assert abs(a["confidence"] - b["confidence"]) < 1e-3
