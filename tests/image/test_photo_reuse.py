"""Reused official photos: keypoint copy test, pixel check, candidates and scoring (photo_reuse)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.image.geometry import KeypointVerifier, structure_agreement
from counterfeit_vision.image.photo_reuse import (
    COPY_MIN_REF_SIDE,
    EXACT_HASH_BITS,
    PHOTO_REVIEW_THRESHOLD,
    UNVERIFIED_CAP,
    Candidate,
    PhotoMatch,
    PhotoReuseMatcher,
    _view,
    is_copy,
)

from .conftest import copy_catalog, make_logo, make_photo, paste


def make_scene(seed: int, size: tuple[int, int] = (480, 360), logo_seed: int | None = None) -> Image.Image:
    """A textured 'product photo': many random shapes over a smooth background, optionally a logo."""
    rng = random.Random(seed)
    img = make_photo(seed, size)
    d = ImageDraw.Draw(img)
    w, h = size
    for _ in range(90):
        x, y = rng.randint(0, w), rng.randint(0, h)
        r = rng.randint(4, 22)
        col = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            d.ellipse((x - r, y - r, x + r, y + r), fill=col, outline=(0, 0, 0))
        else:
            d.polygon([(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(3)], fill=col)
    if logo_seed is not None:
        img = paste(img, make_logo(logo_seed), (w // 3, h // 3), 1.2)
    return img


def crop(img: Image.Image, f: float = 0.7, at: tuple[float, float] = (0.1, 0.2)) -> Image.Image:
    w, h = img.size
    x, y = int(w * at[0]), int(h * at[1])
    return img.crop((x, y, x + int(w * f), y + int(h * f)))


def banners(img: Image.Image) -> Image.Image:
    img = img.copy()
    d = ImageDraw.Draw(img)
    w, h = img.size
    for k in range(3):
        y = int(h * (0.1 + 0.3 * k))
        d.rectangle((0, y, w, y + 22), fill=(255, 255, 0))
        d.text((8, y + 4), "HOT SALE -70%  FREE SHIPPING", fill=(200, 0, 0))
    return img


@pytest.fixture(scope="module")
def matcher_parts():
    return KeypointVerifier(max_features=1500, contrast_threshold=0.02)


def _copy(ver, ref, photo):
    m = PhotoReuseMatcher.__new__(PhotoReuseMatcher)  # only the copy test, no index needed
    m._verifier = ver
    q = _view(ver, photo, 1.0)
    return m.copy_test(_view(ver, ref, 1.0), q)


def test_copy_of_measures_a_crop(matcher_parts):
    ver = matcher_parts
    ref = make_scene(1, logo_seed=5)
    v = ver.copy_of(ver.features(ref), ver.features(crop(ref)))
    assert v.fitted and v.inliers >= 40
    assert abs(v.scale - 1.0) < 0.05 and abs(v.angle) < 2
    assert v.overlap > 0.95                      # the reference covers the whole crop
    assert 0.4 < v.ref_overlap < 0.6             # which shows ~0.7 x 0.7 of the reference
    assert v.spread > 0.6 and v.second_inliers <= 6


def test_copy_test_accepts_transformed_copies(matcher_parts):
    ver = matcher_parts
    ref = make_scene(2, logo_seed=6)
    w, h = ref.size
    copies = {"crop": crop(ref), "half": ref.resize((w // 2, h // 2)), "banners": banners(ref),
              "border": ImageOps.expand(ref, border=30, fill=(255, 255, 255)).crop((30, 30, w + 30, h + 30))}
    for name, photo in copies.items():
        e = _copy(ver, ref, photo)
        assert is_copy(e), (name, e)
        assert e.reproduced >= 0.7, name
    # a mirrored copy matches the mirrored reference, not the reference itself
    assert not is_copy(_copy(ver, ref, ImageOps.mirror(ref)))
    assert is_copy(_copy(ver, ImageOps.mirror(ref), ImageOps.mirror(ref)))



def test_reference_margin_is_not_counted_as_picture(matcher_parts, tmp_path):
    """An official photo on a wide white canvas, reused as a 50% crop of the picture: the
    crop shows 0.5 of the picture's width but only 0.3 of the canvas's."""
    from collections import OrderedDict
    from dataclasses import replace

    ver = matcher_parts
    scene = make_scene(8, logo_seed=9)  # 480 x 360
    canvas = Image.new("RGB", (800, 520), (255, 255, 255))
    canvas.paste(scene, (160, 80))
    canvas.save(tmp_path / "ref.png")
    m = PhotoReuseMatcher.__new__(PhotoReuseMatcher)
    m._verifier, m.reference_root, m._ref_views, m.cache_size = ver, tmp_path, OrderedDict(), 4
    m._described = {}  # no vote cache: the reference is described here
    ref = m._reference_view("ref.png", None, False)
    assert ref.content == (160, 80, 640, 440)
    photo = _view(ver, crop(scene, 0.5), 1.0)
    e = m.copy_test(ref, photo)
    assert is_copy(e), e
    assert 0.45 <= min(e.keypoints.ref_sides) <= 0.55
    # measured on the whole canvas the same crop is "a part of the reference" (like its logo)
    whole = m.copy_test(replace(ref, content=None), photo)
    assert min(whole.keypoints.ref_sides) < COPY_MIN_REF_SIDE and not is_copy(whole)

def test_same_logo_on_another_photo_is_not_a_copy(matcher_parts):
    ver = matcher_parts
    ref = make_scene(3, logo_seed=7)
    other = make_scene(4, logo_seed=7)  # another picture showing the same logo
    e = _copy(ver, ref, other)
    assert not is_copy(e)
    assert not is_copy(_copy(ver, ref, make_scene(5)))


def test_structure_agreement():
    a = np.asarray(make_scene(6).convert("L"), np.float32)
    b = np.asarray(make_scene(7).convert("L"), np.float32)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    rep, expl = structure_agreement(a, a, identity)
    assert rep > 0.99 and expl > 0.99
    rep, expl = structure_agreement(a, b, identity)
    assert rep < 0.4 and expl < 0.4
    # half-size copy: the transform maps reference pixels onto the smaller photo
    small = np.asarray(make_scene(6).convert("L").resize((240, 180)), np.float32)
    rep, _ = structure_agreement(a, small, np.array([[0.5, 0, 0], [0, 0.5, 0]]))
    assert rep > 0.9


@pytest.fixture()
def scene_catalog(tmp_path):
    """Two brands, two textured official photos each (brand0's show the same logo)."""
    brands = []
    for b in range(2):
        root = tmp_path / f"brand{b}"
        (root / "references").mkdir(parents=True)
        refs = []
        for k in range(2):
            p = root / "references" / f"official_{k}.png"
            make_scene(100 + 10 * b + k, logo_seed=50 + b).save(p)
            refs.append(p)
        brands.append(Brand(id=f"brand{b}", name=f"Brand {b}", root=root, references=tuple(refs)))
    return Catalog.from_brands(brands, root=tmp_path)


def test_matcher_finds_copies_and_rejects_same_logo(tiny_embedder, scene_catalog, monkeypatch):
    from counterfeit_vision.image import photo_reuse
    from counterfeit_vision.image.matcher import ImageMatcher
    from counterfeit_vision.image.regions import trim_uniform_border
    from counterfeit_vision.index.onboarding import build_index

    # the tiny random embedder puts every photo at cosine ~0.99: no "near-identical embedding" shortcut
    monkeypatch.setattr(photo_reuse, "NEAR_IDENTICAL_COS", 1.01)

    index = build_index(scene_catalog, tiny_embedder, adapt=False)
    m = ImageMatcher(tiny_embedder, index, logo_matching=False)
    assert m.photo_reuse.reference_root is not None
    ref = Image.open(scene_catalog["brand0"].references[0]).convert("RGB")
    copies = [crop(ref), banners(ref), ImageOps.mirror(crop(ref, 0.8, (0.05, 0.1)))]
    for hits in m.match(copies):
        photo = [h for h in hits if h.kind == "photo"]
        assert photo and photo[0].brand_id == "brand0" and photo[0].score >= PHOTO_REVIEW_THRESHOLD
        assert photo[0].verified or photo[0].phash_distance <= EXACT_HASH_BITS
        assert photo[0].ref_path.endswith("official_0.png")
    # another picture of brand0's logo is not a reused photo
    other = make_scene(999, logo_seed=50)
    hits = [h for h in m.match([other])[0] if h.kind == "photo"]
    assert all(h.score < PHOTO_REVIEW_THRESHOLD for h in hits)
    # the typed API: candidates over all brands, each examined
    x = tiny_embedder.embed_images([trim_uniform_border(copies[0])])[0]
    cands = m.photo_reuse.candidates(trim_uniform_border(copies[0]), x)
    assert {c.brand_id for c in cands} == {"brand0", "brand1"}
    assert all(isinstance(c, Candidate) for c in cands)
    matches = m.photo_reuse.match(copies[0], x)
    assert isinstance(matches[0], PhotoMatch) and matches[0].reason in ("copy", "exact_hash")


def test_unverified_evidence_is_capped(tiny_embedder, scene_catalog):
    from counterfeit_vision.index.onboarding import build_index

    index = build_index(scene_catalog, tiny_embedder, adapt=False)
    m = PhotoReuseMatcher(index)
    close = Candidate(0, "brand0", "p.png", None, similarity=0.96)
    assert m._decide(close, None).score <= UNVERIFIED_CAP < PHOTO_REVIEW_THRESHOLD
    hashed = Candidate(0, "brand0", "p.png", None, similarity=0.5, phash_distance=6)
    assert m._decide(hashed, None).score <= UNVERIFIED_CAP
    exact = Candidate(0, "brand0", "p.png", None, similarity=0.5, phash_distance=EXACT_HASH_BITS)
    assert m._decide(exact, None).score >= 0.95 and m._decide(exact, None).reason == "exact_hash"
    identical = Candidate(0, "brand0", "p.png", None, similarity=0.995)
    assert m._decide(identical, None).score >= PHOTO_REVIEW_THRESHOLD
    # without keypoint verification the embedding decides, uncapped (as before the copy test)
    legacy = PhotoReuseMatcher(index, verify=False)
    assert legacy._decide(close, None).score > PHOTO_REVIEW_THRESHOLD


def test_threshold_reexported_and_hit_fields():
    from counterfeit_vision.image import matcher as image_matching
    from counterfeit_vision.image import photo_reuse
    from counterfeit_vision.image.matcher import ImageHit

    assert image_matching.PHOTO_REVIEW_THRESHOLD is photo_reuse.PHOTO_REVIEW_THRESHOLD
    m = PhotoMatch("b", 3, "refs/a.jpg", 0.8, similarity=0.9, phash_distance=12, verified=True, inliers=40,
                   reason="copy")
    h = ImageHit(kind="photo", image_index=2, **m.hit_fields())
    assert (h.brand_id, h.ref_id, h.score, h.verified, h.inliers, h.method) == ("b", 3, 0.8, True, 40,
                                                                                "near_duplicate")


def test_keypoint_votes_propose_what_embedding_and_hash_miss(tiny_embedder, scene_catalog, monkeypatch):
    """Text banners derail the embedding and the hash; the photo's keypoints still point at the
    reference it shares them with (mirrored too), and only those proposals find it here."""
    from counterfeit_vision.image import photo_reuse
    from counterfeit_vision.index.onboarding import build_index

    monkeypatch.setattr(photo_reuse, "NEAR_IDENTICAL_COS", 1.01)
    monkeypatch.setattr(photo_reuse, "PHOTO_EMBED_CANDIDATES", 0)
    monkeypatch.setattr(photo_reuse, "PHOTO_HASH_CANDIDATES", 0)
    index = build_index(scene_catalog, tiny_embedder, adapt=False)
    m = PhotoReuseMatcher(index)
    ref = Image.open(scene_catalog["brand1"].references[1]).convert("RGB")
    x = np.zeros(index.dim, np.float32)
    for photo, mirrored in ((banners(ref), False), (ImageOps.mirror(banners(ref)), True)):
        found = m.match(photo, x)
        assert found and found[0].brand_id == "brand1" and found[0].ref_path.endswith("official_1.png")
        assert found[0].reason == "copy" and found[0].score >= PHOTO_REVIEW_THRESHOLD
        first = m.candidates(photo, x, m._verifier_().features(photo))[0]  # proposed by the votes alone
        assert first.path.endswith("official_1.png") and first.mirror is mirrored and first.similarity == -1
    # an unrelated scene shares no distinctive keypoints: nothing proposed, nothing found
    assert m.match(make_scene(4242), x) == []
    monkeypatch.setattr(photo_reuse, "PHOTO_VOTE_CANDIDATES", 0)
    assert m.match(banners(ref), x) == []


def test_reference_keypoints_are_saved_with_the_index_and_reused(tiny_embedder, scene_catalog, tmp_path,
                                                                  monkeypatch, caplog):
    """``save_index`` writes the vote index's descriptors beside the index; a process that loads
    it describes no reference photo again, unless one changed; a damaged file is ignored and
    matching never writes it."""
    from counterfeit_vision.image import photo_reuse
    from counterfeit_vision.index.onboarding import build_index, save_index
    from counterfeit_vision.index.reference import ReferenceIndex

    monkeypatch.setattr(photo_reuse, "NEAR_IDENTICAL_COS", 1.01)
    monkeypatch.setattr(photo_reuse, "PHOTO_EMBED_CANDIDATES", 0)
    monkeypatch.setattr(photo_reuse, "PHOTO_HASH_CANDIDATES", 0)
    described = []
    real_view = PhotoReuseMatcher._reference_view
    monkeypatch.setattr(PhotoReuseMatcher, "_reference_view",
                        lambda self, path, box, mirror: (described.append((path, mirror))
                                                         or real_view(self, path, box, mirror)))
    catalog = copy_catalog(scene_catalog, tmp_path / "catalog")  # its files are changed below
    folder = tmp_path / "ix"
    index = build_index(catalog, tiny_embedder, adapt=False)
    save_index(index, folder, tiny_embedder)
    file = folder / photo_reuse.REFERENCE_KEYPOINTS_FILE
    assert file.exists() and len(described) >= 8  # 4 photos x 2 orientations for the votes
    ref = Image.open(catalog["brand1"].references[1]).convert("RGB")
    x = np.zeros(index.dim, np.float32)

    def found(idx):
        m = PhotoReuseMatcher(idx, reference_root=catalog.root)
        return [(h.brand_id, h.ref_path, h.reason) for h in m.match(banners(ref), x)]

    described.clear()
    first = found(ReferenceIndex.load(folder))
    assert first and first[0][:2] == ("brand1", "brand1/references/official_1.png")
    assert all(p.endswith("official_1.png") for p, _ in described)  # only the copy test's candidate was loaded

    # a reference photo whose content changed is described again, the others come from the file
    p = catalog["brand0"].references[0]
    Image.open(p).convert("RGB").rotate(90).save(p)
    described.clear()
    votes = PhotoReuseMatcher(ReferenceIndex.load(folder), reference_root=catalog.root).vote_index()
    assert sorted(described) == [("brand0/references/official_0.png", False),
                                 ("brand0/references/official_0.png", True)]
    with pytest.raises(RuntimeError, match="released its descriptors"):  # in memory: the search only
        votes.files()

    damaged = file.read_bytes()[:-100]
    file.write_bytes(damaged)  # damaged: ignored with a warning, everything described again, nothing written
    described.clear()
    with caplog.at_level("WARNING"):
        assert found(ReferenceIndex.load(folder)) == first
    assert "reference keypoints" in caplog.text and "unreadable" in caplog.text and len(described) >= 8
    assert file.read_bytes() == damaged
