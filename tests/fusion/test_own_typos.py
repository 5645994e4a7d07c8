"""A misspelt brand name: the genuine seller's own typo is no misuse, and a misspelling with no
other cue is review-strength, never takedown-strength."""

from __future__ import annotations

import pytest

from counterfeit_vision.catalog import Brand, Catalog, Thresholds
from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.fusion.cues import BrandCues
from counterfeit_vision.fusion.handset import Decision, cap_misspelling_alone


@pytest.fixture(scope="module")
def detector() -> Detector:
    # a low takedown threshold, so that a misspelling alone would reach it without the cap
    rolex = Brand(id="rolex", name="Rolex", categories=("watches",), authorized_sellers=frozenset({"rolex-shop"}),
                  thresholds=Thresholds(takedown=0.45, review=0.3))
    return Detector.from_catalog(Catalog.from_brands([rolex]), config=DetectorConfig(use_images=False, use_ocr=False))


def _row(i: int, title: str, seller: str) -> dict:
    return {"id": f"l{i}", "title": title, "seller_id": seller, "images": []}


def test_misspelling_alone_is_review_not_takedown(detector):
    (r,) = detector.score_batch([_row(1, "Rollex Submariner automatic watch", "s1")])
    assert r.brand == "rolex" and r.confidence >= 0.45  # past the brand's takedown threshold ...
    assert r.decision == "review"                        # ... yet only referred to the brand


def test_misspelling_with_another_cue_can_be_taken_down(detector):
    (r,) = detector.score_batch([_row(1, "Rollex Submariner replica watch", "s1")])
    assert r.decision == "takedown"


def test_authorised_sellers_typo_is_not_misuse(detector):
    (r,) = detector.score_batch([_row(1, "Rollex Submariner automatic watch", "rolex-shop")])
    assert r.signals.get("title_misuse", 0.0) == 0.0 and r.decision == "pass"


def test_typo_of_a_seller_who_spells_it_right_elsewhere_is_not_misuse(detector):
    rows = [_row(1, "Rolex Datejust 36 steel watch", "s2"), _row(2, "Rollex Submariner automatic watch", "s2"),
            _row(3, "Rollex Submariner automatic watch", "s3")]
    right, typo, stranger = detector.score_batch(rows)
    assert typo.signals.get("title_misuse", 0.0) == 0.0 and typo.decision == "pass"
    assert stranger.signals["title_misuse"] > 0 and stranger.decision == "review"


def test_cap_only_applies_to_a_misspelling_alone():
    take = Decision("takedown", Thresholds())
    alone = BrandCues("b", title_brand=1.0, title_misuse=0.6, title_misspelling_only=True)
    assert cap_misspelling_alone(take, alone).decision == "review"
    cheap = BrandCues("b", title_brand=1.0, title_misuse=0.6, title_misspelling_only=True, price_below_floor=0.5)
    assert cap_misspelling_alone(take, cheap).decision == "takedown"
    assert cap_misspelling_alone(take, BrandCues("b", title_brand=1.0, title_misuse=0.9)).decision == "takedown"
