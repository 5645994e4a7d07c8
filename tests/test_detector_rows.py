"""Rows are scored by position: duplicate ids, missing ids and failed rows never mix results."""

from __future__ import annotations

import pytest

from counterfeit_vision.detector import Detector, DetectorConfig


@pytest.fixture(scope="module")
def detector(sample_catalog_dir):
    return Detector.from_catalog(sample_catalog_dir, config=DetectorConfig(use_images=False, use_ocr=False))


FAKE = {"id": "dup", "title": "Velora style tote bag replica AAA quality", "price": 39, "seller_id": "s",
        "category": "bags"}
GENUINE = {"id": "dup", "title": "Plain canvas tote bag", "price": 20, "seller_id": "t", "category": "bags"}


def _summary(r):
    return r.id, r.decision, round(r.confidence, 6), r.brand


def test_duplicate_ids_keep_their_own_results(detector):
    alone_fake, alone_genuine = detector.score(FAKE), detector.score(GENUINE)
    assert alone_fake.decision != "pass" and alone_genuine.decision == "pass"
    both = detector.score_batch([FAKE, GENUINE, FAKE])
    assert [_summary(r) for r in both] == [_summary(alone_fake), _summary(alone_genuine), _summary(alone_fake)]


def test_a_row_without_id_does_not_collide_with_a_row_named_like_it(detector):
    unnamed = {k: v for k, v in FAKE.items() if k != "id"}
    named = {**GENUINE, "id": "row-1"}
    first, second = detector.score_batch([unnamed, named])
    assert first.id == second.id == "row-1"
    assert first.decision != "pass" and second.decision == "pass"


def test_an_invalid_row_stays_in_place(detector):
    out = detector.score_batch([FAKE, ["not", "an", "object"], GENUINE])
    assert out[0].decision != "pass" and out[1].error and out[1].id == "row-2" and out[2].decision == "pass"


@pytest.mark.slow
def test_image_roots_confine_listing_photos(tmp_path, sample_catalog_dir, repo_root):
    import shutil

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    shutil.copy(repo_root / "samples" / "images" / "velora_stolen.jpg", allowed / "inside.jpg")
    config = DetectorConfig(device="cpu", use_ocr=False, image_roots=(str(allowed),))
    det = Detector.from_catalog(sample_catalog_dir, index_dir=tmp_path / "index", config=config)
    outside = str(repo_root / "samples" / "images" / "velora_stolen.jpg")
    missing = str(tmp_path / "elsewhere" / "nothing.jpg")
    link = allowed / "link.jpg"
    link.symlink_to(outside)
    rows = [{"id": name, "title": "leather tote", "images": [path]}
            for name, path in (("in", str(allowed / "inside.jpg")), ("out", outside), ("missing", missing),
                               ("link", str(link)))]
    got = {r.id: r for r in det.score_batch(rows)}
    refused = "image 0 ignored: outside the allowed image folders"
    assert refused not in got["in"].notes and got["in"].brand == "velora"
    # the same words for a file that exists and one that does not: nothing is revealed
    assert refused in got["out"].notes and refused in got["missing"].notes and refused in got["link"].notes
    assert got["out"].brand is None
