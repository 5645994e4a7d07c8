"""Ray Data engine: the same scan as the local engine — results, report and feedback rows."""

from __future__ import annotations

import json
import sqlite3

import pytest

ray = pytest.importorskip("ray", reason="ray is optional: pip install 'counterfeit-vision[distributed]'")
pytestmark = pytest.mark.slow


def _decisions(db) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute("select listing_id, brand_id, seller_id, decision, round(confidence, 3) "
                                  "from decisions").fetchall(), key=repr)


def test_ray_scan_matches_local_scan_with_every_option(tmp_path, sample_catalog_dir, sample_listings):
    from counterfeit_vision.cli.main import main
    from counterfeit_vision.fusion.fitting import FeatureTable, fit_fusion
    from training.fusion import simulate_feedback

    model_dir = tmp_path / "fusion"
    fit_fusion(FeatureTable.from_rows(simulate_feedback(4000, seed=3))).model.save(model_dir)
    common = ["--catalog", str(sample_catalog_dir), "--index", str(tmp_path / "index"), "--device", "cpu",
              "--no-ocr", "-q", "--batch-size", "4", "--fusion-model", str(model_dir)]
    runs = {}
    for engine in ("local", "ray"):
        out, db, report = (tmp_path / f"{engine}.{ext}" for ext in ("jsonl", "sqlite", "html"))
        extra = ["--engine", "ray", "--actors", "1"] if engine == "ray" else []
        try:
            assert main(["scan", str(sample_listings), "--out", str(out), "--feedback-db", str(db),
                         "--report", str(report), *common, *extra]) == 0
        finally:
            if engine == "ray":
                ray.shutdown()
        runs[engine] = ([json.loads(x) for x in out.read_text().splitlines()], _decisions(db), report.read_text())
    (local, local_db, local_page), (remote, remote_db, remote_page) = runs["local"], runs["ray"]
    assert [r["id"] for r in remote] == [r["id"] for r in local]
    assert all(r["model"]["fusion"] == local[0]["model"]["fusion"] != "hand-set-v1" for r in remote)
    for a, b in zip(local, remote):
        assert a["decision"] == b["decision"] and a["brand"] == b["brand"]
        assert abs(a["confidence"] - b["confidence"]) < 1e-3
    assert local_db and remote_db == local_db
    assert remote_page.count("<article") == local_page.count("<article") > 0


def test_ray_scan_with_a_store_matches_the_local_one_and_its_actors_share_it(tmp_path, sample_catalog_dir,
                                                                               sample_listings):
    from counterfeit_vision.cli.main import main

    common = ["--catalog", str(sample_catalog_dir), "--index", str(tmp_path / "index"), "--device", "cpu",
              "--no-ocr", "-q", "--batch-size", "2"]
    assert main(["scan", str(sample_listings), "--out", str(tmp_path / "local.jsonl"),
                 "--store", str(tmp_path / "local-store"), *common]) == 0
    try:
        for out in ("ray.jsonl", "ray-warm.jsonl"):  # two actors writing one store, then every listing a lookup
            assert main(["scan", str(sample_listings), "--out", str(tmp_path / out), "--store",
                         str(tmp_path / "ray-store"), "--engine", "ray", "--actors", "2", *common]) == 0
    finally:
        ray.shutdown()
    local = (tmp_path / "local.jsonl").read_text()
    assert (tmp_path / "ray.jsonl").read_text() == local == (tmp_path / "ray-warm.jsonl").read_text()
    counts = []
    for store in ("local-store", "ray-store"):
        with sqlite3.connect(tmp_path / store / "evidence.sqlite3") as con:
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            counts.append([con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("photos", "listings")])
    assert counts[0] == counts[1] and counts[0][0] > 0
