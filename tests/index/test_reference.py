"""ReferenceIndex: exactness, ties, brand removal, persistence, the approximate switch."""

from __future__ import annotations

import numpy as np
import pytest

from counterfeit_vision.embedders.base import EmbedderInfo
from counterfeit_vision.index.reference import IndexMismatchError, ReferenceEntry, ReferenceIndex, approx_factory

INFO = EmbedderInfo(name="t", dim=32, weights="w", weights_digest="abc")


def unit(n, d=32, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def entries(n, brand="a", kind="logo"):
    return [ReferenceEntry(brand, kind, f"{brand}/{i}.png") for i in range(n)]


def test_flat_matches_bruteforce():
    xb, xq = unit(300), unit(20, seed=1)
    ix = ReferenceIndex(INFO, factory="Flat")
    ix.add(xb, entries(300))
    D, I = ix.search(xq, 10)
    ref = xq @ xb.T
    order = np.argsort(-ref, axis=1)[:, :10]
    np.testing.assert_array_equal(I, order)
    np.testing.assert_allclose(D, np.take_along_axis(ref, order, 1), atol=1e-5)


def test_ties_return_every_tied_vector():
    x = unit(1)
    xb = np.vstack([x, x, x, unit(5, seed=3)])
    ix = ReferenceIndex(INFO)
    ix.add(xb, entries(len(xb)))
    D, I = ix.search(x, 3)
    assert sorted(I[0].tolist()) == [0, 1, 2]
    np.testing.assert_allclose(D[0], [1, 1, 1], atol=1e-5)


def test_add_remove_brand_and_kind_filter():
    ix = ReferenceIndex(INFO)
    ix.add(unit(10), entries(10, "a"))
    ids_b = ix.add(unit(10, seed=2), entries(10, "b", kind="reference"))
    assert ix.brands() == {"a", "b"} and len(ix) == 20
    got = ix.query(unit(3, seed=2)[:1], 5, kind="reference")[0]
    assert got and all(m.entry.kind == "reference" for m in got)
    assert ix.remove_brand("a") == 10 and len(ix) == 10 and ix.brands() == {"b"}
    D, I = ix.search(unit(10, seed=2), 1)
    assert set(I[:, 0].tolist()) <= set(ids_b.tolist())
    assert ix.remove_brand("zzz") == 0


def test_save_load_roundtrip_and_mismatch(tmp_path):
    ix = ReferenceIndex(INFO)
    xb = unit(50)
    ix.add(xb, [ReferenceEntry("a", "reference", "p.jpg", phash="00ff00ff00ff00ff")] + entries(49))
    ix.save(tmp_path / "ix")
    j = ReferenceIndex.load(tmp_path / "ix", expect=INFO)
    assert len(j) == 50 and j.entries == ix.entries
    np.testing.assert_array_equal(j.search(xb[:5], 3)[1], ix.search(xb[:5], 3)[1])
    other = EmbedderInfo(name="t", dim=32, weights="w", weights_digest="zzz")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        ReferenceIndex.load(tmp_path / "ix", expect=other)
    with pytest.raises(IndexMismatchError):
        ReferenceIndex.load(tmp_path / "missing")


def test_auto_switches_to_ivf_and_keeps_working(tmp_path):
    xb = unit(3000, seed=5)
    ix = ReferenceIndex(INFO, approx_above=2000, nprobe=64)
    ix.add(xb[:1500], entries(1500, "a"))
    assert not ix.approximate
    ix.add(xb[1500:], entries(1500, "b"))
    assert ix.approximate and ix.active_factory == approx_factory(3000)
    D, I = ix.search(xb[:50], 1)
    assert (I[:, 0] == np.arange(50)).mean() > 0.9  # self-match found
    assert ix.remove_brand("a") == 1500 and len(ix) == 1500
    D, I = ix.search(xb[1500:1550], 1)
    assert (I[:, 0] >= 1500).all()
    ix.save(tmp_path / "ivf")
    j = ReferenceIndex.load(tmp_path / "ivf")
    assert j.approximate and j.nprobe == 64 and len(j) == 1500


def test_explicit_factory_errors_clearly_on_tiny_first_add():
    ix = ReferenceIndex(INFO, factory="IVF64,Flat")
    with pytest.raises(ValueError, match="needs at least 64"):
        ix.add(unit(10), entries(10))


def test_hnsw_supports_remove_by_rebuild():
    ix = ReferenceIndex(INFO, factory="HNSW16")
    ix.add(unit(40), entries(20, "a") + entries(20, "b"))
    assert ix.remove_brand("a") == 20 and len(ix) == 20 and ix.brands() == {"b"}


def test_a_damaged_index_file_is_refused_with_the_rebuild_command(tmp_path):
    import json

    from counterfeit_vision.index.reference import MANIFEST_NAME

    ix = ReferenceIndex(INFO, factory="Flat")
    ix.add(unit(20, seed=3), entries(20))
    ix.save(tmp_path / "ix")
    manifest = json.loads((tmp_path / "ix" / MANIFEST_NAME).read_text())
    blob = tmp_path / "ix" / manifest["index_file"]
    good = blob.read_bytes()
    blob.write_bytes(good[:-8] + bytes(8))  # same size, other vectors: only the checksum can tell
    with pytest.raises(IndexMismatchError, match="does not match the SHA-256.*index build"):
        ReferenceIndex.load(tmp_path / "ix")
    blob.write_bytes(good[:100])
    with pytest.raises(IndexMismatchError, match="damaged"):
        ReferenceIndex.load(tmp_path / "ix")
    blob.unlink()
    with pytest.raises(IndexMismatchError, match="cannot be read"):
        ReferenceIndex.load(tmp_path / "ix")
    (tmp_path / "ix" / MANIFEST_NAME).write_text("[" * 100_000)
    with pytest.raises(IndexMismatchError, match="corrupt"):
        ReferenceIndex.load(tmp_path / "ix")
