"""Few-shot heads: the feature map they score through, what is saved, and that training uses the same map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from counterfeit_vision.embedders.base import EmbedderInfo
from counterfeit_vision.index.head_fitting import BACKGROUND, train_heads
from counterfeit_vision.index.heads import FEATURE_MAPS, BrandHeads, HeadsMismatchError
from training import few_shot

INFO = EmbedderInfo(name="unit", dim=8, weights="none", weights_digest="0")


def _unit_rows(rng, n, dim=8):
    X = rng.random((n, dim)).astype(np.float32) ** 3  # pooled ReLU features: non-negative, a few large
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_default_heads_score_power_normalised_features():
    rng = np.random.default_rng(0)
    heads = BrandHeads(INFO)
    assert heads.feature_map == "sqrt"
    w = rng.normal(size=8).astype(np.float32)
    heads.set_brand("acme", w, 0.5)
    X = _unit_rows(rng, 5)
    Y = np.sqrt(X) / np.linalg.norm(np.sqrt(X), axis=1, keepdims=True)
    np.testing.assert_allclose(heads.logits(X)[:, 0], Y @ w + 0.5, rtol=1e-5, atol=1e-6)
    assert not np.allclose(heads.logits(X)[:, 0], X @ w + 0.5, atol=1e-3)
    # the map keeps the sign of negative features (embedders such as CLIP have them)
    np.testing.assert_allclose(heads.features(-X), -heads.features(X), rtol=1e-6)
    identity = BrandHeads(INFO, "identity")
    identity.set_brand("acme", w, 0.5)
    np.testing.assert_allclose(identity.logits(X)[:, 0], X @ w + 0.5, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="feature map"):
        BrandHeads(INFO, "cube")


def test_feature_map_is_saved_and_heads_from_before_load_as_identity(tmp_path):
    heads = BrandHeads(INFO)
    heads.set_brand("acme", np.ones(8, np.float32), 0.0)
    heads.save(tmp_path / "heads")
    assert BrandHeads.load(tmp_path / "heads").feature_map == "sqrt"
    assert heads.restricted_to(["acme"]).feature_map == "sqrt"

    manifest = tmp_path / "heads" / "manifest.json"
    m = json.loads(manifest.read_text())
    del m["feature_map"]  # heads written before the map existed were trained on raw embeddings
    manifest.write_text(json.dumps(m))
    assert BrandHeads.load(tmp_path / "heads").feature_map == "identity"

    m["feature_map"] = "learned-v9"
    manifest.write_text(json.dumps(m))
    with pytest.raises(HeadsMismatchError, match="learned-v9"):
        BrandHeads.load(tmp_path / "heads")


def test_training_sees_every_bank_vector_through_the_heads_map(monkeypatch):
    """A head trained on one map and applied through another would be miscalibrated: training must
    use the map of the heads it writes into (positives, negatives and the MIL windows)."""
    seen = []

    def spy(X):
        seen.append(len(X))
        return FEATURE_MAPS["sqrt"](X)

    monkeypatch.setitem(FEATURE_MAPS, "spy", spy)
    rng = np.random.default_rng(1)
    banks = {
        "acme": {"logos": _unit_rows(rng, 6), "photos": _unit_rows(rng, 2), "tiles": _unit_rows(rng, 4),
                 "tile_photo": np.array([0, 0, 1, 1]), "tile_candidate": np.ones(4, bool)},
        "other": {"logos": _unit_rows(rng, 5)},
        BACKGROUND: {"tiles": _unit_rows(rng, 7)},
    }
    heads = train_heads(banks, BrandHeads(INFO, "spy"), brands=["acme"])
    assert sorted(seen) == [2, 4, 5, 6, 7]  # every bank array once: photos, tiles, other's logos, logos, background
    seen.clear()
    train_heads(banks, BrandHeads(INFO, "spy"), brands=["acme", "other"])
    assert sum(seen) == 24, "each vector is mapped once however many heads are trained, not once per head"
    sqrt_heads = train_heads(banks, BrandHeads(INFO, "sqrt"), brands=["acme"])
    np.testing.assert_allclose(heads.W, sqrt_heads.W, rtol=1e-4, atol=1e-5)
    raw_heads = train_heads(banks, BrandHeads(INFO, "identity"), brands=["acme"])
    assert not np.allclose(raw_heads.W, sqrt_heads.W, atol=1e-3)


def test_switching_the_map_refuses_a_partial_retrain(capsys):
    with pytest.raises(SystemExit) as exc:
        few_shot.main(["--index", "ix", "--catalog", "cat", "--brand", "acme", "--feature-map", "identity"])
    assert exc.value.code == 2
    assert "retrains every head" in capsys.readouterr().err


def test_switching_the_map_retrains_every_head_of_a_saved_index(tiny_embedder, synthetic_catalog, tmp_path,
                                                                 monkeypatch):
    from counterfeit_vision.index.head_fitting import train_brand
    from counterfeit_vision.index.onboarding import build_index
    from counterfeit_vision.index.reference import ReferenceIndex

    index = build_index(synthetic_catalog, tiny_embedder)
    assert index.heads.feature_map == "sqrt"
    index.save(tmp_path / "ix")
    before = index.heads.W.copy()
    monkeypatch.setattr("counterfeit_vision.embedders.create_embedder", lambda name: tiny_embedder)
    # brand2 is no longer in the catalogue but still has a head: it must move to the new map too
    monkeypatch.setattr("counterfeit_vision.catalog.load_catalog",
                        lambda path: synthetic_catalog.without_brand("brand2"))
    assert few_shot.main(["--index", str(tmp_path / "ix"), "--catalog", "unused", "--feature-map", "identity"]) == 0

    loaded = ReferenceIndex.load(tmp_path / "ix", expect=tiny_embedder.info)
    assert loaded.heads.feature_map == "identity"
    assert sorted(loaded.heads.brand_ids) == ["brand0", "brand1", "brand2"]
    banks = loaded.heads.all_banks()
    for i, brand_id in enumerate(loaded.heads.brand_ids):
        w, b, _ = train_brand(brand_id, banks)  # raw embeddings = the identity map
        np.testing.assert_allclose(loaded.heads.W[i], w, rtol=1e-4, atol=1e-5)
        assert not np.allclose(loaded.heads.W[i], before[index.heads.brand_ids.index(brand_id)], atol=1e-3)
