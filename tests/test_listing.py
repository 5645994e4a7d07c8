"""Listing rows: bad parts are ignored with a note, unusable rows get an error, order is kept."""

from __future__ import annotations

import json
import math

import pytest

from counterfeit_vision.listing import MAX_TITLE_CHARS, Evidence, Listing, ListingError, Result, read_listings


def test_relative_image_paths_resolve_against_the_file(tmp_path):
    f = tmp_path / "sub" / "l.jsonl"
    f.parent.mkdir()
    f.write_text(json.dumps({"id": 1, "title": "x", "images": ["a.jpg", "/abs/b.jpg"]}) + "\n")
    (listing,) = list(read_listings(f))
    assert listing.id == "1"
    assert listing.images == (str(tmp_path / "sub" / "a.jpg"), "/abs/b.jpg")


@pytest.mark.parametrize("price, note", [(float("nan"), "not a finite"), (-5, "not a finite"), ("abc", "not a number")])
def test_bad_prices_are_ignored_with_a_note(price, note):
    listing = Listing.from_dict({"id": "a", "title": "t", "price": price})
    assert listing.price is None
    assert any(note in n for n in listing.notes)


def test_huge_and_empty_titles_and_unknown_fields():
    huge = Listing.from_dict({"id": "a", "title": "x" * (MAX_TITLE_CHARS * 3), "colour": "red"})
    assert len(huge.title) == MAX_TITLE_CHARS
    assert any("first" in n for n in huge.notes) and any("colour" in n for n in huge.notes)
    empty = Listing.from_dict({"id": "b", "title": "   "})
    assert empty.title == "" and "empty title" in empty.notes


def test_unparseable_rows_become_errors_in_place(tmp_path):
    f = tmp_path / "l.jsonl"
    f.write_text('{"id": "ok", "title": "a"}\nnot json\n[1, 2]\n\n{"title": "no id"}\n')
    rows = list(read_listings(f))
    assert isinstance(rows[0], Listing)
    assert rows[1][0] == "row-2" and "not valid JSON" in rows[1][1]
    assert rows[2][0] == "row-3" and "JSON object" in rows[2][1]
    assert isinstance(rows[3], Listing) and rows[3].id == "row-5"


def test_non_object_row_raises():
    with pytest.raises(ListingError):
        Listing.from_dict(["x"])


def test_result_validates_and_serialises():
    ev = Evidence("logo", "velora", 0.9, "logo found", box=(1, 2, 3, 4), reference="velora/logos/l.png")
    r = Result("a", "review", 0.5, "velora", {"logo": 0.9}, (ev,), None, {"embedder": "e"})
    d = r.to_dict()
    assert list(d)[:8] == ["id", "decision", "confidence", "brand", "signals", "evidence", "error", "model"]
    assert d["evidence"][0]["box"] == [1, 2, 3, 4] and "span" not in d["evidence"][0]
    json.dumps(d)
    with pytest.raises(ValueError):
        Result("a", "maybe", 0.5, None)
    with pytest.raises(ValueError):
        Result("a", "pass", math.nan if False else 1.5, None)


def test_a_boolean_price_is_ignored_with_a_note():
    from counterfeit_vision.listing import Listing

    listing = Listing.from_dict({"id": "b", "title": "shoes", "price": True})
    assert listing.price is None
    assert any("price True is not a number" in n for n in listing.notes)


def test_result_round_trips_through_its_dict():
    from counterfeit_vision.listing import Evidence, Photo, Result

    ev = Evidence("logo", "velora", 0.8, "logo of velora", box=(1, 2, 30, 40), span=(0, 6), reasons=("a", "b"))
    res = Result("x1", "review", 0.61, "velora", {"logo": 0.8}, (ev,), None, {"embedder": "e"}, ("n",),
                 (Photo("a.jpg", "ab" * 32, "0f" * 8),))
    back = Result.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.to_dict() == res.to_dict()
    assert back.evidence[0].box == (1, 2, 30, 40) and back.photos[0].sha256 == "ab" * 32


def test_result_from_dict_refuses_what_is_not_a_result():
    from counterfeit_vision.listing import Result

    for bad in ([], {"id": "x"}, {"id": "x", "decision": "maybe", "confidence": 0.5},
                {"id": "x", "decision": "pass", "confidence": True},
                {"id": "x", "decision": "pass", "confidence": 0.1, "evidence": [{"kind": "logo", "oops": 1}]}):
        with pytest.raises(ValueError):
            Result.from_dict(bad)
