"""Evidence whose words match its strength: a verified logo or a copied photo is claimed only when the
keypoint check passed; otherwise the item says it is a resemblance, with its cosine. The title's misuse
spans (indicators, look-alike phrases, evasive spellings) are each marked with their reason."""

from __future__ import annotations

import json

import pytest

from counterfeit_vision.fusion.evidence import CLAIMS, image_claim
from counterfeit_vision.image.matcher import ImageHit
from counterfeit_vision.listing import Evidence


def _hit(kind, **kw):
    base = dict(brand_id="velora", kind=kind, similarity=0.934, ref_id=3, ref_path="velora/references/official_0.jpg",
                image_index=0, box=None, method="near_duplicate", score=0.5)
    return ImageHit(**(base | kw))


def test_claims_follow_the_check():
    assert CLAIMS == ("verified_logo", "logo_like", "copied_photo", "similar_photo")
    logo = dict(ref_path="velora/logos/logo_0.png", box=(1, 2, 30, 40), method="region", similarity=0.612)
    assert image_claim(_hit("logo", verified=True, inliers=31, **logo), "Velora") == (
        "verified_logo", "logo of Velora verified by 31 keypoint matches (reference velora/logos/logo_0.png)")
    claim, words = image_claim(_hit("logo", inliers=31, **logo), "Velora")       # inliers, but the check failed
    assert claim == "logo_like" and words == "logo-like region, resembling Velora's logo velora/logos/logo_0.png, " \
                                             "cosine 0.61" and "verified" not in words
    assert image_claim(_hit("photo", verified=True, inliers=80, ref_area=0.84), "Velora") == (
        "copied_photo", "copy of official photo velora/references/official_0.jpg (keypoint-verified, 84% of the "
                        "reference area)")
    claim, words = image_claim(_hit("photo", phash_distance=3), "Velora")   # near hash, no passed copy test
    assert claim == "similar_photo"
    assert words == "similar to official photo velora/references/official_0.jpg, cosine 0.93"


def test_claim_round_trips_through_results():
    ev = Evidence("logo", "velora", 0.9, "logo-like region", claim="logo_like", box=(1, 2, 3, 4))
    assert json.loads(json.dumps(ev.to_dict()))["claim"] == "logo_like"
    assert Evidence.from_dict(ev.to_dict()) == ev


def test_title_misuse_marks(sample_catalog_dir):
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.titles.matcher import TitleMatcher

    m = TitleMatcher.from_catalog(load_catalog(sample_catalog_dir))
    title = "Velora style tote bag replica AAA quality"
    (f,) = m.match(title)
    marks = {(title[a:b], code) for a, b, code, _ in m.misuse_marks(title, f)}
    assert {("style", "lookalike_phrase"), ("replica", "indicator"), ("AAA quality", "indicator")} == marks
    title = "Genuine leather V3l0ra Aurora tote, inspired by Korvex"
    found = {f.brand_id: f for f in m.match(title)}
    assert {(title[a:b], code) for a, b, code, _ in m.misuse_marks(title, found["velora"])} == {("V3l0ra", "leetspeak")}
    assert ("inspired by", "lookalike_phrase") in {(title[a:b], c) for a, b, c, _ in
                                                   m.misuse_marks(title, found["korvex"])}
    (plain,) = m.match("Velora Aurora tote")
    assert m.misuse_marks("Velora Aurora tote", plain) == []


@pytest.fixture(scope="module")
def sample_results(sample_catalog_dir, sample_listings, tmp_path_factory):
    from counterfeit_vision.detector import Detector, DetectorConfig
    from counterfeit_vision.listing import read_listings

    wanted = {"fake-ocr-banner", "fake-replica", "fake-stolen-photo", "fake-hidden-logo", "genuine-official"}
    rows = [x for x in read_listings(sample_listings) if not isinstance(x, tuple) and x.id in wanted]
    det = Detector.from_catalog(sample_catalog_dir, index_dir=tmp_path_factory.mktemp("index"),
                                config=DetectorConfig(embedder="efficientnet_lite0", use_ocr=False))
    return {r.id: r for r in det.score_batch(rows)}


def _claims(result, kind):
    return [e for e in result.evidence if e.kind == kind]


@pytest.mark.slow
def test_the_sample_datas_claims_hold(sample_results):
    # the banner's word "KORVEX" matches the logo's lettering: no verified logo over the banner and the shoe
    for ev in _claims(sample_results["fake-ocr-banner"], "logo"):
        if ev.claim == "verified_logo":
            x1, y1, x2, y2 = ev.box
            assert 370 <= x1 and 250 <= y1 and x2 <= 470 and y2 <= 350, ev   # the real logo patch only
    # a visibly different photo of the same bag is similar, not a copy
    assert {e.claim for e in _claims(sample_results["fake-replica"], "photo")} <= {"similar_photo"}
    (stolen,) = _claims(sample_results["fake-stolen-photo"], "photo")
    assert stolen.claim == "copied_photo" and "keypoint-verified" in stolen.detail and "reference area" in stolen.detail
    for r in sample_results.values():
        for e in r.evidence:
            if e.kind in ("logo", "photo"):
                assert e.claim in CLAIMS
                assert ("verified" in e.detail or "copy of" in e.detail) == (e.claim in ("verified_logo",
                                                                                          "copied_photo"))
