"""The evidence page's HTML, checked as text and parsed: structure, escaping, boxes, images."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

from PIL import Image

from counterfeit_vision.catalog import Catalog
from counterfeit_vision.listing import Evidence, Listing, Result
from counterfeit_vision.report.page import THUMB_SIDE, render_report, write_report

from .conftest import MODEL, make_sample


class _Tags(HTMLParser):
    """Every start tag with its attributes; text inside <script> kept apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts += 1

    def find(self, tag=None, **attrs):
        out = []
        for t, a in self.tags:
            if tag and t != tag:
                continue
            if all((k == "class_" and v in a.get("class", "").split()) or a.get(k) == v
                   for k, v in attrs.items()):
                out.append(a)
        return out


def _parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    return p


def _report(sample, tmp_path, **kw) -> str:
    out = write_report(sample.results, tmp_path / "out" / "report.html", catalog=sample.catalog,
                       listings=sample.listings, **kw)
    assert out == tmp_path / "out" / "report.html"
    return out.read_text("utf-8")


def test_one_card_per_flagged_listing_passes_hidden(sample, tmp_path):
    page = _report(sample, tmp_path)
    tags = _parse(page)
    cards = tags.find("article", class_="card")
    assert [c["data-id"] for c in cards] == ["L1", "L2", "L3", "L5"]   # takedown, reviews, error
    assert {c["data-id"]: c["data-decision"] for c in cards}["L5"] == "error"
    assert cards[0]["data-brand"] == "nikee" and float(cards[0]["data-confidence"]) == 0.93
    assert "1 passed listing(s) not shown" in page
    # filters list the brands and decisions present; sort buttons exist
    assert [o["value"] for o in tags.find("option") if o.get("value") not in ("*",)][:2] == ["adidos", "nikee"]
    assert {a["data-sort"] for a in tags.find("button", class_="sort")} == {"confidence", "brand", "decision"}
    assert "internal error while scoring: &lt;boom&gt;" in page


def test_include_passed(sample, tmp_path):
    tags = _parse(_report(sample, tmp_path, include_passed=True))
    ids = [c["data-id"] for c in tags.find("article", class_="card")]
    assert "L4" in ids and len(ids) == 5


def test_untrusted_text_is_escaped(sample, tmp_path):
    page = _report(sample, tmp_path)
    tags = _parse(page)
    assert tags.scripts == 1                       # only the page's own script
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert 'onerror="window' not in page and "&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;" in page
    assert not any("onerror" in a for _, a in tags.tags)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    # OCR text with quotes lands inside an attribute-free label, escaped
    assert "NIKEE &lt;script&gt;&quot;ORIGINAL&quot;" in page
    # the script only runs with the page's nonce
    csp = tags.find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"]
    nonce = tags.find("script")[0]["nonce"]
    assert f"'nonce-{nonce}'" in csp and "default-src 'none'" in csp


def test_title_spans_are_marked(sample, tmp_path):
    page = _report(sample, tmp_path)
    assert re.search(r'<mark title="evasive alias" class="misuse">Nikee</mark><sup class="why">evasive alias</sup> '
                     r'Air <mark title="[^"]*" class="misuse">replica</mark>', page)


def test_highlight_merges_overlaps_and_ignores_bad_spans(tmp_path):
    title = "cheap nikee replica"
    ev = (Evidence("title", "b", 1.0, "x", span=(6, 11)), Evidence("title", "b", 1.0, "y", span=(8, 19)),
          Evidence("title", "b", 1.0, "z", span=(50, 60)), Evidence("title", "b", 1.0, "w", span=(5, 2)))
    page = render_report([Result("a", "review", 0.5, "b", evidence=ev)], listings=[Listing("a", title)])
    assert re.search(r'cheap <mark title="x; y" class="misuse">nikee replica</mark><sup class="why">x; y</sup>', page)
    assert page.count("<mark title") == 1


def test_boxes_scaled_to_thumbnail(sample, tmp_path):
    tags = _parse(_report(sample, tmp_path))
    s = THUMB_SIDE / 1200                       # 1200 x 800 photo -> 480 x 320 thumbnail
    logo = [b for b in tags.find("div", class_="box-logo") if b["data-box"] == "300,200,600,400"]
    assert len(logo) == 1
    assert logo[0]["data-thumb-box"] == ",".join(str(round(v * s)) for v in (300, 200, 600, 400))
    assert "left:120px;top:80px;width:120px;height:80px" in logo[0]["style"]
    text = tags.find("div", class_="box-ocr_text")
    assert text and text[0]["data-thumb-box"] == "280,200,440,240"
    # a whole-photo match outlines the whole thumbnail
    whole = tags.find("div", class_="whole")
    assert whole and whole[0]["data-kind"] == "photo" and whole[0]["data-thumb-box"] == "0,0,480,320"


def test_box_outside_photo_is_clamped_or_dropped(tmp_path):
    photo = tmp_path / "p.png"
    Image.new("RGB", (100, 50), "white").save(photo)
    ev = (Evidence("logo", "b", 0.5, "x", image=str(photo), image_index=0, box=(90, 40, 500, 500)),
          Evidence("logo", "b", 0.5, "y", image=str(photo), image_index=0, box=(200, 200, 300, 300)))
    tags = _parse(render_report([Result("a", "review", 0.5, "b", evidence=ev)]))
    boxes = tags.find("div", class_="box")
    assert [b["data-box"] for b in boxes] == ["90,40,100,50"]


def test_images_are_base64_jpeg_thumbnails(sample, tmp_path):
    page = _report(sample, tmp_path)
    tags = _parse(page)
    thumbs = tags.find("img", class_="thumb")
    assert thumbs
    for img in thumbs + tags.find("img", class_="ref-img"):
        src = img["src"]
        assert src.startswith("data:image/jpeg;base64,")
        decoded = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert decoded.format == "JPEG"
        assert max(decoded.size) <= THUMB_SIDE
        assert (int(img["width"]), int(img["height"])) == decoded.size
    assert max(Image.open(io.BytesIO(base64.b64decode(thumbs[0]["src"].split(",", 1)[1]))).size) == THUMB_SIDE
    # the matched reference is shown beside the photo
    assert any("swoosh.png" in a.get("alt", "") for a in tags.find("img", class_="ref-img"))
    # nothing loads from outside the file
    for _, attrs in tags.tags:
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith("data:"), attrs
    assert "http://" not in page and "https://" not in page


def test_unreadable_photos_become_placeholders(sample, tmp_path):
    page = _report(sample, tmp_path)
    assert "image not found" in page and "missing.jpg" in page
    assert "not a readable image: corrupt.jpg" in page
    assert "image too large: bomb.png" in page
    assert "reference not shown" in page and "gone.png" in page   # a reference that is gone
    tags = _parse(page)
    assert len(tags.find("div", class_="placeholder")) >= 4
    # the other listings still render fully
    assert len(tags.find("article", class_="card")) == 4


def test_contributions_and_model(sample, tmp_path):
    page = _report(sample, tmp_path)
    tags = _parse(page)
    cues = [li["data-cue"] for li in tags.find("li") if "data-cue" in li]
    assert cues[:3] == ["title_misuse", "price_below_floor", "logo"]      # largest first
    assert 'style="width:60.0%"' in page
    assert "clip-test-embedder" in page and "hand-set-v1" in page
    assert "badge-takedown" in page and "0.93" in page


def test_without_catalog_or_listings(sample, tmp_path):
    page = render_report(sample.results)
    tags = _parse(page)
    assert len(tags.find("article", class_="card")) == 4
    assert "title not available" in page and "<mark>Nikee</mark>" in page
    assert "no catalogue given" in page
    assert tags.find("div", class_="box-logo")       # evidence photos are still shown


def test_empty_and_atomic_overwrite(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    write_report([], target)
    assert "No flagged listings" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]      # no temp file left


def test_thumbnails_cached_and_catalog_names(tmp_path):
    sample = make_sample(tmp_path, title="Nikee replica")
    page = render_report(sample.results, catalog=sample.catalog, listings=sample.listings)
    assert ">Nikee</span>" in page          # brand name from the catalogue
    assert isinstance(sample.catalog, Catalog) and MODEL["embedder"] in page
