"""The learned fusion: monotone, authorised sellers never raised, calibrated, saved and loaded safely."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterfeit_vision.fusion.cues import BrandCues
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, decide
from counterfeit_vision.fusion.learned import (
    FEATURE_SIGNS,
    MAX_CONFIDENCE,
    LearnedFusion,
    ModelFileError,
    load_fusion_model,
)

unit = st.floats(0.0, 1.0, allow_nan=False)
MISUSE = ("title_misuse", "ocr_misuse", "hidden_brand", "price_below_floor", "seller_history", "photo",
          "title_brand", "ocr_brand", "logo")


@st.composite
def cues(draw):
    return BrandCues("velora", title_brand=draw(unit), ocr_brand=draw(unit), logo=draw(unit), photo=draw(unit),
                     title_misuse=draw(unit), ocr_misuse=draw(unit), hidden_brand=draw(unit),
                     price_below_floor=draw(unit), seller_history=draw(unit), authorized_seller=draw(st.booleans()))


def test_fitted_weights_respect_their_signs(model):
    for name, sign in FEATURE_SIGNS.items():
        assert model.coefficients[name] * sign >= 0
    assert model.coefficients["authorized_seller"] < 0 < model.coefficients["title_misuse"]


@settings(max_examples=300, deadline=None)
@given(c=cues(), name=st.sampled_from(MISUSE), extra=unit)
def test_more_evidence_never_lowers_confidence(model, c, name, extra):
    stronger = replace(c, **{name: max(getattr(c, name), extra)})
    assert model.score(stronger).confidence >= model.score(c).confidence - 1e-12


@settings(max_examples=300, deadline=None)
@given(c=cues())
def test_authorised_seller_never_raises_confidence(model, c):
    assert (model.score(replace(c, authorized_seller=True)).confidence
            <= model.score(replace(c, authorized_seller=False)).confidence + 1e-12)


@settings(max_examples=200, deadline=None)
@given(c=cues())
def test_confidence_bounded_and_zero_without_a_brand(model, c):
    out = model.score(c)
    assert 0.0 <= out.confidence <= MAX_CONFIDENCE
    if c.attribution < MIN_ATTRIBUTION:
        assert out.confidence == 0.0
    assert sum(out.contributions.values()) == pytest.approx(out.confidence) or not out.contributions


def test_authorised_seller_with_perfect_photo_at_normal_price_is_not_taken_down(model):
    c = BrandCues("velora", title_brand=1.0, logo=1.0, photo=1.0, ocr_brand=1.0, authorized_seller=True)
    assert decide(model.score(c).confidence, model.thresholds_for("velora")).decision != "takedown"
    # the same photo from an unknown seller at a fraction of the floor price is a takedown
    fake = replace(c, authorized_seller=False, price_below_floor=1.0, title_misuse=0.9, seller_history=0.5)
    assert decide(model.score(fake).confidence, model.thresholds_for("velora")).decision == "takedown"


def test_held_out_calibration_and_takedown_precision(fitted):
    m = fitted.metrics
    assert m["ece"] <= 0.05
    assert m["roc_auc"] > 0.95
    assert m["takedown"]["selected"] > 300 and m["takedown"]["precision"] >= 0.99
    g = fitted.thresholds["global"]
    assert g["threshold"] is not None and g["precision_lower"] >= 0.99


def test_vectorised_predict_matches_score(model, fitted):
    t = fitted.folds["test"]
    p = model.predict(t.X[:200])
    for i in range(200):
        assert model.score(t.cues(i)).confidence == pytest.approx(p[i])


def test_save_load_roundtrip_with_manifest(model, tmp_path):
    folder = model.save(tmp_path / "m")
    man = json.loads((folder / "manifest.json").read_text())
    for key in ("version", "features", "libraries", "training_data", "metrics", "thresholds", "model_sha256"):
        assert key in man
    assert man["version"] == model.version and model.version.startswith("fusion-")
    assert man["libraries"]["scikit-learn"] and man["training_data"]["rows"] == 20000
    loaded = load_fusion_model(folder)
    assert loaded.version == model.version
    X = np.random.default_rng(0).uniform(0, 1, (500, 10))
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert loaded.thresholds_for("velora") == model.thresholds_for("velora")
    # a models root with ACTIVE
    (tmp_path / "ACTIVE").write_text(model.version + "\n")
    model.save(tmp_path / model.version)
    assert load_fusion_model(tmp_path).version == model.version


def test_tampered_or_unsafe_model_files_are_refused(model, tmp_path):
    folder = model.save(tmp_path / "m")
    raw = json.loads((folder / "model.json").read_text())
    raw["coefficients"]["authorized_seller"] = 2.0  # an authorised seller would raise the score
    (folder / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelFileError, match="does not match its manifest"):
        load_fusion_model(folder)
    with pytest.raises(ModelFileError, match="sign constraint"):
        LearnedFusion.from_json(raw)
    raw["coefficients"]["authorized_seller"] = -1.0
    raw["calibration"]["y"] = list(reversed(raw["calibration"]["y"]))
    with pytest.raises(ModelFileError, match="non-decreasing"):
        LearnedFusion.from_json(raw)
    with pytest.raises(ModelFileError):
        load_fusion_model(tmp_path / "nothing-here")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "ACTIVE").write_text("../m\n")
    with pytest.raises(ModelFileError, match="bad version"):
        load_fusion_model(tmp_path / "root")


def test_no_provable_threshold_disables_takedown(model):
    m = replace(model, global_thresholds={"takedown": None, "review": 0.3}, brand_thresholds={})
    t = m.thresholds_for("anything")
    assert t.takedown == 1.0 and t.review == 0.3
    c = BrandCues("x", title_brand=1, title_misuse=1, price_below_floor=1, seller_history=1, photo=1)
    assert decide(m.score(c).confidence, t).decision == "review"


def test_signs_hold_even_when_the_data_says_otherwise():
    """Labels where authorised sellers are *more* often fake and misuse cues mean genuine: the fit
    clamps those weights at 0 instead of learning a model that breaks its promises."""
    from counterfeit_vision.fusion.fitting import FeatureTable, fit_fusion
    from training.fusion import simulate_feedback

    rows = simulate_feedback(3000, seed=5)
    for r in rows:
        r["label"] = int(r["features"]["authorized_seller"] > 0 or r["features"]["title_misuse"] == 0)
    m = fit_fusion(FeatureTable.from_rows(rows)).model
    assert m.coefficients["authorized_seller"] == 0.0
    assert m.coefficients["title_misuse"] == 0.0
    c = BrandCues("velora", title_brand=1.0, title_misuse=0.2)
    assert m.score(replace(c, authorized_seller=True)).confidence <= m.score(c).confidence
    assert m.score(replace(c, title_misuse=1.0)).confidence >= m.score(c).confidence
