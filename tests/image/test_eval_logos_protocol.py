"""The all-references protocol of benchmarks/eval_logos.py: references and listing photos never overlap."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _data():
    # 4 brands x 8 photos, one photo showing two brands, pHashes far apart but for one twin pair
    data, hashes = {}, {}
    for b in "abcd":
        for k in range(8):
            img = f"{b}{k}.jpg"
            data[img] = {"brands": {b}, "boxes": [(b, (0, 0, 40, 40))]}
            hashes[img] = (ord(b) * 97 + k * 7919) * 0x9E3779B97F4A7C15 % (1 << 64)
    data["ab.jpg"] = {"brands": {"a", "b"}, "boxes": [("a", (0, 0, 40, 40)), ("b", (50, 0, 90, 40))]}
    hashes["ab.jpg"] = 12345
    hashes["a1.jpg"] = hashes["a0.jpg"]  # the same picture twice: neither may be a listing photo
    return data, hashes


def test_all_refs_keeps_listing_photos_out_of_the_references():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from eval_logos import split_all_refs

    data, hashes = _data()
    catalog, held, refs, queries, negatives = split_all_refs(data, seed=0, holdout=1, per_brand=3, hashes=hashes)
    assert len(held) == 1 and set(catalog) | set(held) == set("abcd")
    query_photos = {img for img, _ in queries}
    assert all(not (set(r) & query_photos) for r in refs.values())
    assert {b: sum(1 for _, t in queries if t == b) for b in catalog} == {b: 3 for b in catalog}
    assert "a0.jpg" not in query_photos and "a1.jpg" not in query_photos
    # every other photo of a catalogue brand is its reference; the held-out brand's are the negatives
    for b in catalog:
        assert len(refs[b]) == 8 - 3 + (1 if b in "ab" else 0)
    assert set(negatives) == {f"{held[0]}{k}.jpg" for k in range(8)} | ({"ab.jpg"} - set().union(*refs.values()))
    # another seed holds out the same number differently
    assert split_all_refs(data, seed=1, holdout=1, per_brand=3, hashes=hashes)[3] != queries
