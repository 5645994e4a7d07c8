"""Operating points: the map onto the fusion's levels, their fitting, and their life in the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from counterfeit_vision.embedders.base import EmbedderInfo
from counterfeit_vision.fusion.evidence import ListingInputs, build_cues
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, HandSetFusion, decide
from counterfeit_vision.fusion.operating_fit import ScoredPhoto, fit_operating_points, neutral_outcome, outcome_rates
from counterfeit_vision.fusion.operating_points import (
    KindPoints,
    OperatingPoints,
    fitted_points,
    review_cue,
    write_fitted_points,
)
from counterfeit_vision.index.reference import MANIFEST_NAME, IndexMismatchError, ReferenceEntry, ReferenceIndex

INFO = EmbedderInfo(name="t", dim=8, weights="w", weights_digest="abc")
POINTS = OperatingPoints({"logo": KindPoints(0.1, 0.3), "text": KindPoints(0.2, 0.6)},
                         brands={"acme": {"logo": KindPoints(0.05, 0.2)}}, targets={"review": 0.02})


def test_anchors_land_on_the_fusion_levels_and_the_map_is_monotone():
    kp = KindPoints(0.1, 0.3)
    assert kp.cue(0.1) == pytest.approx(MIN_ATTRIBUTION) and kp.cue(0.3) == pytest.approx(review_cue())
    assert kp.cue(0.0) == 0.0 and kp.cue(1.0) == 1.0 and kp.cue(7.0) == 1.0
    xs = np.linspace(0, 1, 101)
    assert np.all(np.diff([kp.cue(x) for x in xs]) >= 0)
    # a photo showing the brand at the review anchor, and nothing else, goes to review
    c = review_cue()
    assert decide(HandSetFusion().score(_cues(logo=c, hidden_brand=c)).confidence).decision == "review"
    with pytest.raises(ValueError):
        KindPoints(0.4, 0.3)


def test_brand_anchors_replace_the_kind_and_unknown_kinds_keep_raw_scores():
    assert POINTS.cue("logo", 0.05, "acme") == pytest.approx(MIN_ATTRIBUTION)
    assert POINTS.cue("logo", 0.05, "other") < MIN_ATTRIBUTION
    assert POINTS.cue("photo", 0.42, "acme") == 0.42  # no anchors for photo reuse: raw


def test_round_trip_and_a_tampered_copy_is_refused():
    d = POINTS.to_dict()
    assert OperatingPoints.from_dict(json.loads(json.dumps(d))) == POINTS
    d["kinds"]["logo"]["attribution"] = 0.01
    with pytest.raises(ValueError, match="SHA-256"):
        OperatingPoints.from_dict(d)
    with pytest.raises(ValueError, match="unknown score kind"):
        OperatingPoints({"smell": KindPoints(0.1, 0.2)})


def test_manifest_keeps_the_points_verifies_them_and_old_indexes_have_none(tmp_path):
    ix = ReferenceIndex(INFO)
    x = np.eye(8, dtype=np.float32)[:2]
    ix.add(x, [ReferenceEntry("acme", "logo", f"{i}.png") for i in range(2)])
    ix.save(tmp_path / "old")
    assert ReferenceIndex.load(tmp_path / "old").operating_points is None
    ix.operating_points = POINTS
    ix.save(tmp_path / "ix")
    assert ReferenceIndex.load(tmp_path / "ix").operating_points == POINTS
    path = tmp_path / "ix" / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["operating_points"]["kinds"]["logo"]["review"] = 0.99
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="operating points.*index build"):
        ReferenceIndex.load(tmp_path / "ix")


def test_fitted_points_are_found_by_embedder_and_weights(tmp_path, monkeypatch):
    import counterfeit_vision.fusion.operating_points as op

    monkeypatch.setattr(op, "FITTED_DIR", tmp_path)
    assert fitted_points(INFO) is None
    write_fitted_points(POINTS, INFO, tmp_path)
    assert fitted_points(INFO) == POINTS
    assert fitted_points(EmbedderInfo(name="t", dim=8, weights="w", weights_digest="new")) is None


def test_build_cues_maps_scores_through_the_points():
    from counterfeit_vision.catalog import Brand, Catalog
    from counterfeit_vision.image.matcher import ImageHit
    from counterfeit_vision.image.photo_brands import PhotoBrands, brands_in_photo
    from counterfeit_vision.listing import Listing

    catalog = Catalog.from_brands([Brand(id="acme", name="Acme")])
    hit = ImageHit("acme", "logo", 0.5, 0, "acme/logo.png", 0, (0, 0, 10, 10), "region", score=0.2)
    inp = ListingInputs(Listing(id="l", title="Item for sale", images=("x.jpg",)))
    inp.seen = [PhotoBrands(brands_in_photo([hit], []), [hit], [])]
    (raw,) = build_cues(inp, catalog)
    (mapped,) = build_cues(inp, catalog, points=POINTS)
    assert raw.logo == pytest.approx(0.2) and raw.hidden_brand == pytest.approx(0.2)
    assert mapped.logo == pytest.approx(review_cue()) and mapped.hidden_brand == pytest.approx(review_cue())


def _cues(**kw):
    from counterfeit_vision.fusion.cues import BrandCues

    return BrandCues("acme", **kw)


def _photos(seed=0, n=200):
    """Photos without a logo score 0-0.3 for some brand; photos with one score 0.2-1 for their brand."""
    rng = np.random.default_rng(seed)
    neg = [ScoredPhoto({"a": {"logo": float(rng.uniform(0, 0.3))}}) for _ in range(n)]
    pos = [ScoredPhoto({"a": {"logo": float(rng.uniform(0.2, 1.0))}, "b": {"logo": float(rng.uniform(0, 0.1))}},
                       frozenset({"a"})) for _ in range(n)]
    return neg + pos


def test_fit_meets_its_false_alarm_targets_and_names_more_brands_than_raw_scores():
    photos = _photos()
    points = fit_operating_points(photos, attribution_rate=0.05, review_rate=0.02)
    got = outcome_rates(photos, points)
    assert got["no_logo_named"] <= 0.05 and got["no_logo_flagged"] <= 0.02
    assert got["right_brand"] > outcome_rates(photos, None)["right_brand"]
    # on fresh photos from the same distribution the rates hold roughly
    fresh = outcome_rates(_photos(seed=1), points)
    assert fresh["no_logo_flagged"] <= 0.05
    assert neutral_outcome(ScoredPhoto({}), points).brand is None
    with pytest.raises(ValueError, match="without any catalogue logo"):
        fit_operating_points([p for p in photos if p.shows])


def test_a_kind_that_never_fires_on_photos_without_a_logo_still_needs_precision():
    # text reads: absent from photos without a logo, and mostly wrong below 0.5 on the others
    neg = [ScoredPhoto({"a": {"logo": 0.0}}) for _ in range(100)]
    pos = [ScoredPhoto({"b": {"text": 0.3}}, frozenset({"a"})) for _ in range(50)]
    pos += [ScoredPhoto({"a": {"text": 0.9}}, frozenset({"a"})) for _ in range(50)]
    points = fit_operating_points(neg + pos)
    assert points.kinds["text"].attribution > 0.3


def test_a_brand_whose_sightings_are_less_precise_gets_higher_anchors():
    # b tops photos without a logo at 0.6 as often as not; a's sightings at 0.65 are always right
    neg = [ScoredPhoto({"a": {"logo": 0.1}}) for _ in range(100)]
    neg += [ScoredPhoto({"b": {"logo": 0.6}}) for _ in range(20)]
    pos_a = [ScoredPhoto({"a": {"logo": 0.65}}, frozenset({"a"})) for _ in range(60)]
    pos_b = [ScoredPhoto({"b": {"logo": 0.9}}, frozenset({"b"})) for _ in range(30)]
    points = fit_operating_points(neg + pos_a + pos_b, min_brand_photos=20)
    assert points.brands["b"]["logo"].attribution > points.kinds["logo"].attribution
    assert neutral_outcome(pos_a[0], points).brand == "a"
    assert neutral_outcome(pos_b[0], points).brand == "b"
    assert "a" not in points.brands  # as precise as the pooled sightings: no adjustment
