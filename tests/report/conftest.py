"""Hand-built scan results with real small images, so the report tests need no detector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.listing import Evidence, Listing, Result

MODEL = {"embedder": "clip-test-embedder", "fusion": "hand-set-v1", "ocr": "off"}
XSS_TITLE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> '
             'Nikee Air replica shoes "quoted" & more')


@dataclass
class Sample:
    results: list[Result]
    listings: list[Listing]
    catalog: Catalog
    photo: Path          # 1200 x 800 photo with a logo at LOGO_BOX
    missing: Path
    corrupt: Path
    bomb: Path


LOGO_BOX = (300, 200, 600, 400)   # in the 1200 x 800 photo
TEXT_BOX = (700, 500, 1100, 600)


def _photo(path: Path, size=(1200, 800), colour=(40, 90, 160)) -> Path:
    img = Image.new("RGB", size, (235, 235, 228))
    d = ImageDraw.Draw(img)
    d.rectangle(LOGO_BOX, fill=colour)
    d.ellipse((330, 220, 570, 380), fill=(250, 250, 250))
    d.rectangle(TEXT_BOX, fill=(30, 30, 30))
    d.text((720, 530), "NIKEE ORIGINAL", fill=(255, 255, 255))
    img.save(path, "JPEG", quality=85)
    return path


def _logo(path: Path, colour=(40, 90, 160)) -> Path:
    img = Image.new("RGB", (300, 200), colour)
    ImageDraw.Draw(img).ellipse((30, 20, 270, 180), fill=(250, 250, 250))
    img.save(path, "PNG")
    return path


def _bomb(path: Path) -> Path:
    # 8000 x 6000 = 48 MP, over the 40 MP limit, a few kB on disk
    Image.new("1", (8000, 6000), 0).save(path, "PNG")
    return path


def make_sample(tmp: Path, *, title: str = XSS_TITLE) -> Sample:
    cat_root = tmp / "catalog"
    (cat_root / "nikee" / "logos").mkdir(parents=True)
    (cat_root / "adidos" / "logos").mkdir(parents=True)
    _logo(cat_root / "nikee" / "logos" / "swoosh.png")
    _logo(cat_root / "adidos" / "logos" / "stripes.png", colour=(20, 20, 20))
    catalog = Catalog.from_brands([Brand("nikee", "Nikee"), Brand("adidos", "Adidos")], root=cat_root)
    photos = tmp / "photos"
    photos.mkdir()
    photo = _photo(photos / "p1.jpg")
    photo2 = _photo(photos / "p2.jpg", colour=(20, 20, 20))
    plain = _photo(photos / "plain.jpg", colour=(200, 60, 60))
    missing = photos / "missing.jpg"
    corrupt = photos / "corrupt.jpg"
    corrupt.write_bytes(b"this is not a jpeg at all" * 10)
    bomb = _bomb(photos / "bomb.png")

    start = title.index("Nikee")
    listings = [
        Listing("L1", title, (str(photo), str(missing)), 19.0, "EUR", "seller-9"),
        Listing("L2", "Adidos stripes trainers original", (str(photo2),), 25.0, "EUR", "s2"),
        Listing("L3", "Adidos look-alike <b>bold</b>", (str(corrupt), str(bomb)), 10.0, "EUR", "s3"),
        Listing("L4", "plain white shoes", (str(plain),), 40.0, "EUR", "s4"),
        Listing("L5", "Nikee hoodie", (), 5.0, "EUR", "s5"),
    ]
    r1 = Result(
        "L1", "takedown", 0.93, "nikee",
        signals={"logo": 0.9, "title_misuse": 1.0, "contribution.title_misuse": 0.6,
                 "contribution.price_below_floor": 0.2, "contribution.logo": 0.13},
        evidence=(
            Evidence("logo", "nikee", 0.9, "logo found (region), similarity 0.912",
                     reference="nikee/logos/swoosh.png", ref_id=0, similarity=0.912,
                     image=str(photo), image_index=0, box=LOGO_BOX),
            Evidence("ocr_text", "nikee", 0.7, "text in photo 0: misuse", image=str(photo), image_index=0,
                     box=TEXT_BOX, text='NIKEE <script>"ORIGINAL"', reasons=("indicator word",)),
            Evidence("title", "nikee", 1.0, "title misuse: replica", text="Nikee",
                     span=(start, start + 5), reasons=("evasive alias",)),
            Evidence("title", "nikee", 1.0, "title misuse: replica", text="replica",
                     span=(start + 10, start + 17), reasons=("indicator word 'replica'",)),
            Evidence("price", "nikee", 0.8, "price 19 is below Nikee's floor 80 EUR", price=19.0, floor=80.0),
        ),
        model=MODEL,
    )
    r2 = Result(
        "L2", "review", 0.55, "adidos",
        signals={"photo": 0.7, "contribution.photo": 0.55},
        evidence=(
            Evidence("photo", "adidos", 0.7, "official photo reused (whole), similarity 0.970",
                     reference="adidos/logos/stripes.png", similarity=0.97, image=str(photo2), image_index=0),
            Evidence("logo", "adidos", 0.5, "logo with a missing reference",
                     reference="adidos/logos/gone.png", similarity=0.6, image=str(photo2), image_index=0,
                     box=(0, 0, 200, 100)),
        ),
        model=MODEL,
    )
    r3 = Result("L3", "review", 0.41, "adidos", signals={"contribution.title_misuse": 0.41},
                evidence=(Evidence("logo", "adidos", 0.4, "logo on an unreadable photo",
                                   image=str(corrupt), image_index=0, box=(1, 1, 5, 5)),),
                model=MODEL)
    r4 = Result("L4", "pass", 0.05, None, model=MODEL)
    r5 = Result.failed("L5", "internal error while scoring: <boom>", MODEL)
    return Sample([r4, r1, r5, r3, r2], listings, catalog, photo, missing, corrupt, bomb)


@pytest.fixture
def sample(tmp_path) -> Sample:
    return make_sample(tmp_path)
