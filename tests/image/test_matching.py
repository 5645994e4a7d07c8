"""End to end on a synthetic catalogue: logos found with a box, heads trained incrementally."""

from __future__ import annotations

import numpy as np
import pytest

from counterfeit_vision.image.matcher import LOGO_REVIEW_THRESHOLD, PHOTO_REVIEW_THRESHOLD, ImageHit, ImageMatcher
from counterfeit_vision.image.regions import iou
from counterfeit_vision.index.onboarding import add_brand, build_index, remove_brand
from counterfeit_vision.index.reference import ReferenceIndex

from .conftest import make_logo, make_photo, paste


def test_thresholds_and_hit_defaults():
    assert 0 < LOGO_REVIEW_THRESHOLD < 1 and 0 < PHOTO_REVIEW_THRESHOLD < 1
    h = ImageHit("b", "logo", 0.5, 1, "p", 0, None, "region")
    assert h.score == 0.0 and h.verified is False and h.inliers == 0 and h.phash_distance is None
    with pytest.raises(ValueError):
        ImageHit("b", "banner", 0.5, 1, "p", 0, None, "region")


def test_small_logo_found_verified_with_box(tiny_embedder, synthetic_catalog):
    index = build_index(synthetic_catalog, tiny_embedder)
    assert index.heads is not None and set(index.heads.brand_ids) == {"brand0", "brand1", "brand2"}
    m = ImageMatcher(tiny_embedder, index)
    logo = make_logo(101)  # brand1's mark
    photo = paste(make_photo(99, (640, 480)), logo, (420, 300), 1.0)  # ~3% of the photo
    hits = m.match([photo, make_photo(98, (640, 480))])
    logo_hits = [h for h in hits[0] if h.kind == "logo"]
    top = next(h for h in logo_hits if h.verified)
    assert top.brand_id == "brand1" and top.inliers >= 12
    assert iou(top.box, (420, 300, 540, 380)) > 0.6
    assert top.score >= LOGO_REVIEW_THRESHOLD
    assert all(0.0 <= h.score <= 1.0 for hs in hits for h in hs)
    assert not any(h.verified for h in hits[1])


def test_onboarding_a_brand_leaves_other_heads_alone(tiny_embedder, synthetic_catalog, tmp_path):
    brands = list(synthetic_catalog)
    index = build_index(synthetic_catalog.without_brand("brand2"), tiny_embedder)
    before = {b: index.heads.W[index.heads.brand_ids.index(b)].copy() for b in ("brand0", "brand1")}
    add_brand(index, brands[2], tiny_embedder)
    assert "brand2" in index.heads and index.brands() == {"brand0", "brand1", "brand2"}
    for b, w in before.items():
        np.testing.assert_array_equal(index.heads.W[index.heads.brand_ids.index(b)], w)
    index.save(tmp_path / "ix")
    loaded = ReferenceIndex.load(tmp_path / "ix", expect=tiny_embedder.info)
    assert loaded.heads.brand_ids == index.heads.brand_ids
    np.testing.assert_allclose(loaded.heads.W, index.heads.W)
    assert set(loaded.heads.all_banks()) >= {"brand0", "brand1", "brand2"}
    # incremental onboarding after a reload reuses the cached banks
    remove_brand(loaded, "brand0")
    assert "brand0" not in loaded.heads and "brand0" not in loaded.brands()
    add_brand(loaded, brands[0], tiny_embedder, refresh=True)
    assert set(loaded.heads.brand_ids) == {"brand0", "brand1", "brand2"}


def test_without_heads_knn_scoring(tiny_embedder, synthetic_catalog):
    index = build_index(synthetic_catalog, tiny_embedder, adapt=False)
    assert index.heads is None
    m = ImageMatcher(tiny_embedder, index, verify=False)
    hits = m.match([make_logo(100)])[0]
    assert hits and all(0 <= h.score <= 1 for h in hits)
    assert hits[0].brand_id == "brand0"


def test_empty_inputs(tiny_embedder, synthetic_catalog):
    index = ReferenceIndex(tiny_embedder.info)
    m = ImageMatcher(tiny_embedder, index)
    assert m.match([make_photo(1)]) == [[]] and m.match([]) == []


def test_embedder_mismatch_refused(tiny_embedder, synthetic_catalog):
    from .conftest import TinyEmbedder

    index = build_index(synthetic_catalog, tiny_embedder, adapt=False)
    with pytest.raises(ValueError, match="index built by"):
        ImageMatcher(TinyEmbedder(name="other"), index)
