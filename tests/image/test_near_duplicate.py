"""Stolen-photo detection: perceptual hash and embedding robustness on synthetic transforms."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from counterfeit_vision.image.phash import PhashTable, embedding_score, hamming, hash_score, phash

from .conftest import make_logo, make_photo, paste


def _photo(seed):
    return paste(make_photo(seed, (480, 360)), make_logo(seed), (150, 120), 1.3)


def _jpeg(img, q=40):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def transforms(img):
    w, h = img.size
    over = img.copy()
    ImageDraw.Draw(over).text((20, 20), "SALE 50% OFF  best price", fill=(255, 0, 0))
    return {
        "resize": img.resize((w // 2, h // 2)),
        "jpeg": _jpeg(img, 30),
        "colour": ImageEnhance.Color(ImageEnhance.Brightness(img).enhance(1.2)).enhance(0.7),
        "border": ImageOps.expand(img, border=40, fill=(255, 255, 255)),
        "text": over,
    }


def test_phash_survives_exact_reuse_transforms():
    img = _photo(1)
    h0 = phash(img)
    for name, t in transforms(img).items():
        assert hamming(h0, phash(t)) <= 10, name
    others = [phash(_photo(s)) for s in range(2, 8)]
    assert min(hamming(h0, o) for o in others) > 10
    assert phash(ImageOps.mirror(ImageOps.mirror(img))) == h0


def test_phash_table_nearest():
    hashes = [phash(_photo(s)) for s in range(5)]
    table = PhashTable.from_pairs([(10 + i, f"{h:016x}") for i, h in enumerate(hashes)])
    ids, d = table.nearest([hashes[3], hashes[0] ^ 0b111])
    assert ids.tolist() == [13, 10] and d.tolist() == [0, 3]
    assert PhashTable().nearest([1])[0].tolist() == [-1]


def test_score_maps_are_monotone_in_unit_interval():
    hs = [hash_score(d) for d in range(0, 30)]
    assert all(0 <= s <= 1 for s in hs) and hs == sorted(hs, reverse=True)
    es = [embedding_score(c) for c in np.linspace(-1, 1, 50)]
    assert all(0 <= s <= 1 for s in es) and es == sorted(es)
    assert hash_score(None) == 0.0


def test_matcher_flags_transformed_copies(effnet, synthetic_catalog):
    from counterfeit_vision.image.matcher import PHOTO_REVIEW_THRESHOLD, ImageMatcher
    from counterfeit_vision.index.onboarding import build_index

    index = build_index(synthetic_catalog, effnet, adapt=False)
    m = ImageMatcher(effnet, index, verify=False)
    ref = Image.open(synthetic_catalog["brand1"].references[0]).convert("RGB")
    copies = list(transforms(ref).values()) + [ImageOps.mirror(ref)]
    for hits in m.match(copies):
        photo = [h for h in hits if h.kind == "photo"]
        assert photo and photo[0].brand_id == "brand1" and photo[0].score >= PHOTO_REVIEW_THRESHOLD
