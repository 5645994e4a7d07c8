"""Hostile rows: each one becomes an error or a note on that row, nothing crashes, nothing is lost,
and every file written is valid UTF-8."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterfeit_vision.listing import Listing, parse_line

HOSTILE_LINES = [
    '{"id": "a", "price": 1' + "0" * 5000 + "}",             # int beyond Python's 4,300-digit str limit
    '{"id": 1' + "0" * 5000 + ', "title": "Velora tote"}',
    "[" * 100_000 + "]" * 100_000,                           # RecursionError in json
    '{"id": "' + "[" * 50 + '", "images": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"id": "\\udc80", "seller_id": "\\ud800", "title": "Velora \\udc80 tote"}',   # lone surrogates
    '{"id": "b", "images": ["' + "x" * 300 + '.jpg"]}',      # file name too long for the file system
    '{"id": "c", "images": ["a\\u0000b.jpg"]}',               # NUL in a path
    '{"id": {"nested": [1, 2]}, "title": 5, "price": [1]}',
    '{"id": "d", "price": "' + "9" * 10_000 + '"}',
    '{"id": "e", "price": 1e999}',
    "not json at all",
    "null",
]


def _describe(parsed) -> str:
    if isinstance(parsed, tuple):
        return parsed[1]
    return json.dumps(parsed.__dict__, default=str, ensure_ascii=False)


@pytest.mark.parametrize("line", HOSTILE_LINES, ids=range(len(HOSTILE_LINES)))
def test_each_hostile_line_is_a_row_error_or_a_noted_listing(line):
    parsed = parse_line(line, 7, None)
    assert isinstance(parsed, (Listing, tuple))
    text = _describe(parsed)
    text.encode("utf-8")  # no lone surrogate survives into what is written
    assert len(text) < 5000  # messages never echo the hostile value whole
    if isinstance(parsed, tuple):
        assert parsed[0] == "row-7" and "line 7" in parsed[1]


def test_surrogates_are_replaced_with_a_note():
    listing = parse_line(HOSTILE_LINES[4], 1, None)
    assert listing.id == "\ufffd" and listing.seller_id == "\ufffd" and "\ufffd" in listing.title
    assert any("U+FFFD" in n for n in listing.notes)


def test_scan_rows_keep_their_place_and_results_are_valid_utf8(tmp_path):
    from counterfeit_vision.listing import Result
    from counterfeit_vision.scan.runner import read_rows, score_rows, write_results

    src = tmp_path / "listings.jsonl"
    good = '{"id": "dup", "title": "plain mug"}'
    src.write_text("\n".join([good, *HOSTILE_LINES, good]) + "\n", encoding="utf-8")
    rows = read_rows(src)
    assert len(rows) == len(HOSTILE_LINES) + 2
    dups = [r for r in rows if isinstance(r, Listing) and r.id == "dup"]
    assert len(dups) == 2 and all(any("appears in 2 rows" in n for n in r.notes) for r in dups)

    def score(listings):
        return [Result(x.id, "pass", 0.0, None, {}, (), None, {}, x.notes) for x in listings]

    results = score_rows(rows, score, {})
    out = tmp_path / "results.jsonl"
    assert write_results(out, results) == len(rows)
    lines = out.read_bytes().decode("utf-8").splitlines()  # strict decode: valid UTF-8
    assert len(lines) == len(rows) and [json.loads(x)["id"] for x in lines][0] == "dup"


def test_titles_command_survives_hostile_rows(tmp_path, sample_catalog_dir):
    from counterfeit_vision.cli.main import main

    src = tmp_path / "titles.jsonl"
    src.write_text("\n".join([*HOSTILE_LINES, '{"id": "ok", "title": "V3l0ra tote replica"}']) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["titles", str(src), "--catalog", str(sample_catalog_dir), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_bytes().decode("utf-8").splitlines()]
    assert len(rows) == len(HOSTILE_LINES) + 1 and rows[-1]["findings"]


def test_feedback_import_turns_hostile_rows_into_row_errors(tmp_path):
    from counterfeit_vision.feedback.store import FeedbackStore

    src = tmp_path / "outcomes.jsonl"
    ok = '{"listing_id": "l1", "brand_id": "velora", "outcome": "confirmed_fake"}'
    src.write_text("\n".join([*HOSTILE_LINES, '{"listing_id": "\\udc80", "brand_id": "velora", '
                              '"outcome": "confirmed_fake"}', ok]) + "\n")
    report = FeedbackStore(tmp_path / "fb.sqlite3").import_outcomes(src, skip_bad=True)
    assert report.rows == len(HOSTILE_LINES) + 2
    assert len(report.errors) >= len(HOSTILE_LINES) - 1 and report.committed


def test_unusable_image_paths_are_image_errors(tmp_path):
    from counterfeit_vision.image.decode import ImageError, load_rgb

    for name in ("x" * 300 + ".jpg", "a\x00b.jpg"):
        with pytest.raises(ImageError):
            load_rgb(tmp_path / name)


def test_a_photo_is_bounded_before_anything_pads_it(tmp_path):
    from PIL import Image

    from counterfeit_vision.image.decode import load_rgb

    Image.new("RGB", (39000, 1), (200, 10, 10)).save(tmp_path / "line.png")
    assert (tmp_path / "line.png").stat().st_size < 1000
    img = load_rgb(tmp_path / "line.png", max_side=1600)
    assert img.size == (1600, 1) and img.info["bound_scale"] == pytest.approx(39000 / 1600)
    assert load_rgb(tmp_path / "line.png").size == (39000, 1)  # without a budget: as before


# ------------------------------------------------------------------ fuzzing
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                         max_size=4),
                    max_leaves=20)
FIELDS = st.fixed_dictionaries({}, optional={k: JSON for k in ("id", "title", "images", "price", "currency",
                                                                 "seller_id", "category", "extra")})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FIELDS)
def test_fuzz_listing_rows_never_crash(row):
    parsed = parse_line(json.dumps(row), 3, None)
    _describe(parsed).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_raw_lines_never_crash(line):
    parsed = parse_line(line, 3, None)
    _describe(parsed).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(FIELDS)
def test_fuzz_outcome_rows_are_rows_or_errors(row):
    from counterfeit_vision.feedback.store import _validate  # noqa: PLC2701 - the importer's row check

    out = _validate(row)
    assert isinstance(out, (dict, str))
    if isinstance(out, dict):
        json.dumps(out, ensure_ascii=False).encode("utf-8")


@pytest.fixture(scope="module")
def title_matcher(sample_catalog_dir):
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.titles import TitleMatcher

    return TitleMatcher.from_catalog(load_catalog(sample_catalog_dir))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_fuzz_titles_never_crash(title_matcher, title):
    for finding in title_matcher.match(title):
        assert finding.verdict in ("misuse", "mention")
