"""Store names and shop URLs are read for brand misuse, as evidence of their own kind."""

from __future__ import annotations

import pytest

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.sellers.storefront import check_storefront, storefront_texts

TITLE = {"id": "x", "title": "Velora tote bag leather", "price": 500, "seller_id": "s1"}


@pytest.fixture(scope="module")
def detector(sample_catalog_dir):
    return Detector.from_catalog(sample_catalog_dir, config=DetectorConfig(use_images=False, use_ocr=False))


def test_urls_are_read_as_words_without_the_top_level_domain():
    assert storefront_texts(None, "https://www.velora-factory-outlet.shop/bags/1") == \
        [("url", "velora-factory-outlet bags")]
    assert storefront_texts("Shop", "veloraoutlet.com") == [("seller_name", "Shop"), ("url", "veloraoutlet")]


@pytest.mark.parametrize("extra, reason", [
    ({"seller_name": "velora-outlet-store"}, "outlet_store_name"),
    ({"url": "https://v-e-l-o-r-a.shop/bags"}, "spaced_letters"),
    ({"url": "veloraoutlet.com"}, "outlet_store_name"),
    ({"seller_name": "ve1ora boutique"}, "leetspeak"),
])
def test_store_name_misuse_is_its_own_evidence_and_raises_the_score(detector, extra, reason):
    plain, named = detector.score(TITLE), detector.score({**TITLE, **extra})
    ev = [e for e in named.evidence if e.kind == "store_name"]
    assert len(ev) == 1 and reason in ev[0].reasons and ev[0].brand_id == "velora"
    assert named.confidence > plain.confidence


def test_authorised_sellers_and_plain_names_give_no_finding(detector):
    official = detector.score({**TITLE, "seller_id": "velora-official", "seller_name": "Velora Official Store"})
    assert not [e for e in official.evidence if e.kind == "store_name"]
    assert check_storefront(detector.title_matcher, detector.catalog, "s1", "my bag shop", "bags.example") == []


def test_a_store_name_alone_does_not_attribute_a_brand(detector):
    r = detector.score({"id": "y", "title": "leather tote bag", "seller_id": "s1", "seller_name": "velora outlet"})
    assert r.decision == "pass" and r.brand is None
