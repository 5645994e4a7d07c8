"""Takedown packages (``counterfeit-vision package``): schema, crops, byte-identical rebuilds, escaping,
photo confinement, and the page in a real headless browser."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from counterfeit_vision.cli.main import main
from counterfeit_vision.report import package as package_module
from counterfeit_vision.report.package import SCHEMA, build_package

from .conftest import LOGO_BOX, TEXT_BOX, XSS_TITLE, make_sample
from .test_report_browser import driver  # noqa: F401  (the module-scoped headless Chromium)


def _write_inputs(tmp: Path, sample) -> tuple[Path, Path]:
    results = tmp / "results.jsonl"
    results.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in sample.results), encoding="utf-8")
    listings = tmp / "listings.jsonl"
    listings.write_text("".join(json.dumps({"id": x.id, "title": x.title, "images": list(x.images),
                                            "price": x.price, "currency": x.currency,
                                            "seller_id": x.seller_id}) + "\n" for x in sample.listings),
                        encoding="utf-8")
    return results, listings


@pytest.fixture
def built(tmp_path):
    sample = make_sample(tmp_path)
    results, listings = _write_inputs(tmp_path, sample)
    out = tmp_path / "pkg"
    build_package(results, "nikee", out, catalog=sample.catalog, listings_path=listings)
    return sample, results, listings, out


def test_schema_and_only_the_brand(built):
    jsonschema = pytest.importorskip("jsonschema")
    _, results, _, out = built
    doc = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert [x["id"] for x in doc["listings"]] == ["L1"]            # adidos' listings are not in nikee's package
    assert doc["brand"] == {"id": "nikee", "name": "Nikee"}
    (entry,) = doc["listings"]
    assert entry["title"] == XSS_TITLE and entry["decision"] == "takedown"
    at = XSS_TITLE.index("Nikee")
    assert {tuple(s["span"]) for s in entry["title_spans"]} == {(at, at + 5), (at + 10, at + 17)}
    photo, missing = entry["photos"]
    assert photo["checked"] and len(photo["sha256"]) == 64
    assert not missing["checked"] and "not found" in missing["why"] and missing["sha256"] is None
    assert entry["model"]["embedder"] == "clip-test-embedder" and doc["models"] == [entry["model"]]
    # the time is the results file's, not the clock's
    from datetime import datetime, timezone

    mtime = datetime.fromtimestamp(int(results.stat().st_mtime), timezone.utc)
    assert doc["time"] == mtime.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_crops_exist_with_the_box_size(built):
    _, _, _, out = built
    doc = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    ev = {e["kind"]: e for e in doc["listings"][0]["evidence"]}
    for kind, box in (("logo", LOGO_BOX), ("ocr_text", TEXT_BOX)):
        crop = out / ev[kind]["crop"]
        with Image.open(crop) as im:
            assert im.format == "PNG" and im.size == (box[2] - box[0], box[3] - box[1])
    assert (out / ev["logo"]["reference_file"]).is_file()
    assert ev["title"]["crop"] is None and ev["price"]["crop"] is None
    rows = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8"))))
    assert [r["listing_id"] for r in rows] == ["L1"] and rows[0]["unchecked_photos"] == "1"
    assert set(rows[0]["crops"].split(";")) == {ev["logo"]["crop"], ev["ocr_text"]["crop"]}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rebuild_is_byte_identical_and_replaces_atomically(built, tmp_path):
    sample, results, listings, out = built
    first = _tree(out)
    assert {"index.html", "evidence.json", "summary.csv"} <= set(first)
    build_package(results, "nikee", tmp_path / "again", catalog=sample.catalog, listings_path=listings)
    assert _tree(tmp_path / "again") == first
    build_package(results, "nikee", out, catalog=sample.catalog, listings_path=listings)   # over the old one
    assert _tree(out) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pkg.")]             # no temp folder left


def test_refuses_to_replace_a_folder_that_is_not_a_package(built, tmp_path):
    from counterfeit_vision.errors import UsageError

    sample, results, listings, _ = built
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not a takedown package"):
        build_package(results, "nikee", mine, catalog=sample.catalog, listings_path=listings)
    assert (mine / "thesis.txt").read_text() == "keep me"


def test_script_and_quotes_are_escaped_everywhere(built):
    _, _, _, out = built
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "&quot;quoted&quot;" in page and "&lt;script&gt;&quot;ORIGINAL&quot;" in page   # title and OCR text
    assert "script-src" not in page and "default-src 'none'" in page                       # no script at all
    doc = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert doc["listings"][0]["title"] == XSS_TITLE                                         # JSON keeps it exact
    rows = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text(encoding="utf-8"))))
    assert rows[0]["title"] == XSS_TITLE                                                    # CSV quoting round-trips


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    sample = make_sample(tmp_path, title='=HYPERLINK("http://x","Nikee") Nikee replica')
    results, listings = _write_inputs(tmp_path, sample)
    build_package(results, "nikee", tmp_path / "pkg", catalog=sample.catalog, listings_path=listings)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "pkg" / "summary.csv").read_text(encoding="utf-8"))))
    assert rows[0]["title"].startswith("'=HYPERLINK")


def test_photos_outside_the_image_roots_are_not_read(tmp_path, monkeypatch):
    sample = make_sample(tmp_path)
    results, listings = _write_inputs(tmp_path, sample)
    touched: list[str] = []
    photo_dir = str(sample.photo.parent)
    real_load, real_digest = package_module.load_rgb, package_module.content_sha256
    monkeypatch.setattr(package_module, "load_rgb", lambda p, **kw: touched.append(str(p)) or real_load(p, **kw))
    monkeypatch.setattr(package_module, "content_sha256",
                        lambda p: touched.append(str(p)) or real_digest(p))
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    build_package(results, "nikee", tmp_path / "pkg", catalog=sample.catalog, listings_path=listings,
                  image_roots=[allowed])
    assert touched and not [p for p in touched if p.startswith(photo_dir)]   # no listing photo opened or hashed
    doc = json.loads((tmp_path / "pkg" / "evidence.json").read_text(encoding="utf-8"))
    photos = doc["listings"][0]["photos"]
    assert [p["why"] for p in photos] == ["outside the allowed image folders; not read"] * 2  # missing or not
    assert all(p["sha256"] is None and not p["checked"] for p in photos)
    assert all(e["crop"] is None for e in doc["listings"][0]["evidence"])
    # inside the roots they are read
    build_package(results, "nikee", tmp_path / "pkg2", catalog=sample.catalog, listings_path=listings,
                  image_roots=[sample.photo.parent])
    doc = json.loads((tmp_path / "pkg2" / "evidence.json").read_text(encoding="utf-8"))
    assert doc["listings"][0]["photos"][0]["checked"]


def test_a_photo_changed_since_the_scan_is_not_cropped(tmp_path):
    from dataclasses import replace

    from counterfeit_vision.listing import Photo

    sample = make_sample(tmp_path)
    sample.results[1] = replace(sample.results[1], photos=(Photo(str(sample.photo), "0" * 64),))
    results, listings = _write_inputs(tmp_path, sample)
    build_package(results, "nikee", tmp_path / "pkg", catalog=sample.catalog, listings_path=listings)
    doc = json.loads((tmp_path / "pkg" / "evidence.json").read_text(encoding="utf-8"))
    photo = doc["listings"][0]["photos"][0]
    assert not photo["checked"] and "changed since the scan" in photo["why"] and photo["recorded_sha256"] == "0" * 64


def test_cli(tmp_path, capsys):
    sample = make_sample(tmp_path)
    results, listings = _write_inputs(tmp_path, sample)
    assert main(["package", str(results), "--brand", "adidos", "--out", str(tmp_path / "pkg"),
                 "--listings", str(listings)]) == 0
    assert "2 listing(s)" in capsys.readouterr().out
    doc = json.loads((tmp_path / "pkg" / "evidence.json").read_text(encoding="utf-8"))
    assert [x["id"] for x in doc["listings"]] == ["L2", "L3"]
    assert main(["package", str(tmp_path / "nope.jsonl"), "--brand", "adidos", "--out", str(tmp_path / "x")]) == 2


def test_package_page_in_the_browser(built, driver):  # noqa: F811
    from selenium.webdriver.common.by import By

    _, _, _, out = built
    driver.get((out / "index.html").resolve().as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Takedown package: Nikee")
    assert driver.execute_script("return window.__pwned === undefined")
    crops = driver.find_elements(By.CSS_SELECTOR, "img.crop")
    assert len(crops) == 2 and all(driver.execute_script("return arguments[0].naturalWidth", c) > 0 for c in crops)
    assert "not found" in driver.find_element(By.CSS_SELECTOR, "tr.unchecked").text
    shots = Path(os.environ.get("CV_REPORT_SCREENSHOT_DIR", out.parent))
    shots.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1400, 1400)
    assert driver.save_screenshot(str(shots / "package.png"))


def test_report_zooms_each_region_beside_its_reference_and_keeps_to_the_image_roots(tmp_path):
    from counterfeit_vision.report.page import render_report

    sample = make_sample(tmp_path)
    page = render_report(sample.results, catalog=sample.catalog, listings=sample.listings)
    card = page.split('id="listing-L1"', 1)[1].split("</article>", 1)[0]
    assert card.count('class="zoom-img"') == 2                      # the logo and the text region
    assert 'alt="zoomed logo region"' in card and "(300×200 px)" in card
    pair = card.split('<div class="pair">', 1)[1].split("</div>", 1)[0]
    assert "zoom-img" in pair and "ref-img" in pair                 # the logo region beside its reference
    confined = render_report(sample.results, catalog=sample.catalog, listings=sample.listings,
                             image_roots=[tmp_path / "elsewhere"])
    card = confined.split('id="listing-L1"', 1)[1].split("</article>", 1)[0]
    assert "zoom-img" not in card and 'class="thumb"' not in card
    assert "outside the allowed image folders; not read" in card
    assert "ref-img" in card                                         # the catalogue is still read


def test_a_pass_whose_photos_were_not_checked_is_shown_with_why():
    from counterfeit_vision.listing import Result
    from counterfeit_vision.report.page import render_report

    unchecked = Result("p1", "pass", 0.1, "velora", notes=("image 0 ignored: outside the allowed image folders",))
    page = render_report([unchecked, Result("p2", "pass", 0.0, None)])
    assert 'data-id="p1"' in page and 'data-id="p2"' not in page
    assert "photo(s) not checked:</b> image 0 ignored: outside the allowed image folders" in page


def test_photos_named_two_ways_are_one_photo(tmp_path):
    sample = make_sample(tmp_path)
    results, _ = _write_inputs(tmp_path, sample)
    listings = tmp_path / "listings-relative.jsonl"          # the listings name photos relative to their file
    listings.write_text(json.dumps({"id": "L1", "title": XSS_TITLE, "images": ["photos/p1.jpg", "photos/missing.jpg"]})
                        + "\n", encoding="utf-8")
    build_package(results, "nikee", tmp_path / "pkg", catalog=sample.catalog, listings_path=listings)
    doc = json.loads((tmp_path / "pkg" / "evidence.json").read_text(encoding="utf-8"))
    (entry,) = doc["listings"]
    assert len(entry["photos"]) == 2 and entry["photos"][0]["checked"]
    assert {e["kind"] for e in entry["evidence"] if e["crop"]} == {"logo", "ocr_text"}


def test_the_package_shows_the_sellers_network_with_its_links(tmp_path):
    """Built with a `sellers` output, each listing carries its seller's risk and network, and the page
    shows the links (what a notice against a ring of storefronts needs)."""
    jsonschema = pytest.importorskip("jsonschema")
    sample = make_sample(tmp_path)
    results, listings = _write_inputs(tmp_path, sample)
    seller = next(x.seller_id for x in sample.listings if x.id == "L1")
    sellers = tmp_path / "sellers.jsonl"
    row = {"seller_id": seller, "risk": 0.72, "network_id": "net-0123456789ab",
           "reasons": ["network: linked to confirmed counterfeiter s9"],
           "links": [{"seller_id": "s9", "kind": "photo", "evidence": "photo sha256 ab12… shown by both"}]}
    sellers.write_text(json.dumps(row) + "\n" + json.dumps({"seller_id": "other", "risk": 0.1, "network_id": None,
                                                              "reasons": [], "links": []}) + "\n", encoding="utf-8")
    out = tmp_path / "pkg"
    assert main(["package", str(results), "--brand", "nikee", "--out", str(out), "--listings", str(listings),
                 "--sellers", str(sellers)]) == 0
    doc = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["listings"][0]["seller"] == row
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "net-0123456789ab" in page and "<code>s9</code>" in page and "photo sha256 ab12" in page
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"risk": 1}\n', encoding="utf-8")
    assert main(["package", str(results), "--brand", "nikee", "--out", str(tmp_path / "p2"),
                 "--sellers", str(bad)]) == 2
