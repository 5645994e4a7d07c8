"""Generate the project's own sample data: fictional brands and listings.

    python scripts/make_sample_data.py            # writes brand_catalog/ and samples/

Everything here is synthetic: brands are invented, logos and product shots are
drawn with Pillow. The output is committed so the demo needs no generation step;
this script documents how it was made and regenerates it deterministically.
"""

from __future__ import annotations

import json
import math
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "brand_catalog"
SAMPLES = ROOT / "samples"
RNG = random.Random(7)


def font(size: int) -> ImageFont.FreeTypeFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


# ----------------------------------------------------------------------------- logos
def logo_velora(size=256, fg=(176, 132, 48), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    d.ellipse((20, 10, size - 20, size - 50), outline=fg, width=14)
    d.polygon([(70, 50), (128, 170), (186, 50), (160, 50), (128, 125), (96, 50)], fill=fg)
    d.text((size // 2, size - 28), "VELORA", fill=fg, font=font(34), anchor="mm")
    return im


def logo_korvex(size=256, fg=(210, 30, 40), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    d.polygon([(20, 150), (236, 60), (120, 170), (236, 200), (30, 200)], fill=fg)
    d.text((size // 2, 40), "KORVEX", fill=fg, font=font(40), anchor="mm")
    return im


def logo_nimbly(size=256, fg=(30, 90, 220), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((30, 20, size - 30, size - 60), radius=40, fill=fg)
    for cx, cy, r in ((100, 110, 34), (140, 95, 42), (175, 118, 28)):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255))
    d.rectangle((70, 118, 190, 145), fill=(255, 255, 255))
    d.text((size // 2, size - 30), "NIMBLY", fill=fg, font=font(36), anchor="mm")
    return im


def logo_haldane(size=256, fg=(20, 20, 20), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    d.polygon([(40, 170), (60, 60), (100, 120), (128, 40), (156, 120), (196, 60), (216, 170)], fill=fg)
    d.rectangle((40, 178, 216, 196), fill=fg)
    d.text((size // 2, 226), "HALDANE", fill=fg, font=font(32), anchor="mm")
    return im


LOGOS = {"velora": logo_velora, "korvex": logo_korvex, "nimbly": logo_nimbly, "haldane": logo_haldane}
VARIANTS = [((255, 255, 255), None), ((245, 240, 230), None), ((30, 30, 30), (235, 235, 235))]

BRANDS = {
    "velora": dict(
        id="velora", name="Velora", aliases=["ヴェローラ", "Velora Paris"], abbreviations=["VL"],
        product_lines=["Aurora Tote", "Siena Clutch"], categories=["bags", "handbags", "accessories"],
        own_terms=["mirror"], evasive_aliases=["v-lora"], authorized_sellers=["velora-official", "luxe-boutique"],
        price_floor={"amount": 400, "currency": "USD", "product_lines": {"Aurora Tote": 650}},
        thresholds={"takedown": 0.8, "review": 0.4}),
    "korvex": dict(
        id="korvex", name="Korvex", aliases=["Корвекс"], abbreviations=["KVX"],
        product_lines=["Stormrunner", "Apex Trainer"], categories=["shoes", "sneakers", "sportswear"],
        authorized_sellers=["korvex-store"], price_floor={"amount": 90, "currency": "USD"}),
    "nimbly": dict(
        id="nimbly", name="Nimbly", product_lines=["Nimbly One", "Nimbly Pad"],
        categories=["phones", "electronics"], compatible_accessories=True,
        authorized_sellers=["nimbly-shop"], price_floor={"amount": 300, "currency": "USD"}),
    "haldane": dict(
        id="haldane", name="Haldane", aliases=["Haldane Geneve"], product_lines=["Meridian", "Seamaster Pro"],
        categories=["watches"], authorized_sellers=["haldane-boutique"],
        price_floor={"amount": 1500, "currency": "USD"}),
}


def write_yaml(path: Path, data: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------- products
def background(w: int, h: int, kind: str) -> Image.Image:
    if kind == "studio":
        im = Image.new("RGB", (w, h))
        d = ImageDraw.Draw(im)
        for y in range(h):
            v = int(250 - 30 * y / h)
            d.line([(0, y), (w, y)], fill=(v, v, v))
        return im
    base = (150, 110, 70) if kind == "wood" else (200, 200, 190)
    im = Image.new("RGB", (w, h), base)
    d = ImageDraw.Draw(im)
    for _ in range(400):
        x, y = RNG.randrange(w), RNG.randrange(h)
        c = tuple(max(0, min(255, b + RNG.randint(-25, 25))) for b in base)
        d.line([(x, y), (x + RNG.randint(20, 120), y + RNG.randint(-3, 3))], fill=c, width=2)
    return im.filter(ImageFilter.GaussianBlur(1))


def draw_product(im: Image.Image, kind: str, box, color) -> None:
    d = ImageDraw.Draw(im)
    x1, y1, x2, y2 = box
    if kind == "bag":
        d.arc((x1 + (x2 - x1) // 4, y1 - (y2 - y1) // 3, x2 - (x2 - x1) // 4, y1 + (y2 - y1) // 3), 180, 360,
              fill=tuple(c // 2 for c in color), width=10)
        d.rounded_rectangle(box, radius=20, fill=color)
    elif kind == "shoe":
        d.polygon([(x1, y2), (x1, y1 + (y2 - y1) // 2), (x1 + (x2 - x1) // 3, y1),
                   (x2 - (x2 - x1) // 4, y1 + (y2 - y1) // 2), (x2, y1 + 2 * (y2 - y1) // 3), (x2, y2)], fill=color)
        d.rectangle((x1, y2 - 15, x2, y2), fill=(240, 240, 240))
    elif kind == "phone":
        d.rounded_rectangle(box, radius=30, fill=(25, 25, 30))
        d.rounded_rectangle((x1 + 10, y1 + 20, x2 - 10, y2 - 20), radius=18, fill=color)
    else:  # watch
        cx, cy, r = (x1 + x2) // 2, (y1 + y2) // 2, min(x2 - x1, y2 - y1) // 2
        d.rectangle((cx - r // 2, y1 - 60, cx + r // 2, y2 + 60), fill=(60, 40, 30))
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(200, 200, 205))
        d.ellipse((cx - r + 12, cy - r + 12, cx + r - 12, cy + r - 12), fill=color)
        for a in range(12):
            t = a * math.pi / 6
            d.line([(cx + 0.75 * r * math.cos(t), cy + 0.75 * r * math.sin(t)),
                    (cx + 0.85 * r * math.cos(t), cy + 0.85 * r * math.sin(t))], fill=(240, 240, 240), width=3)


PRODUCT = {"velora": ("bag", (120, 40, 50)), "korvex": ("shoe", (40, 40, 45)),
           "nimbly": ("phone", (90, 140, 200)), "haldane": ("watch", (15, 30, 60))}


def paste_logo(im: Image.Image, brand: str, center, size: int, variant: int = 0, angle: float = 0) -> tuple:
    bg, fg = VARIANTS[variant]
    kwargs = {"bg": bg} | ({"fg": fg} if fg else {})
    logo = LOGOS[brand](**kwargs).resize((size, size), Image.Resampling.LANCZOS)
    if angle:
        logo = logo.rotate(angle, expand=True, fillcolor=bg)
    x, y = center[0] - logo.width // 2, center[1] - logo.height // 2
    im.paste(logo, (x, y))
    return (x, y, x + logo.width, y + logo.height)


def product_shot(brand: str, *, bg="studio", logo_size=110, logo_at=None, color=None, size=(640, 480),
                 variant=0, angle=0.0, with_logo=True) -> Image.Image:
    kind, base_color = PRODUCT[brand]
    w, h = size
    im = background(w, h, bg)
    box = (w // 4, h // 4, 3 * w // 4, 7 * h // 8) if kind != "watch" else (w // 3, h // 4, 2 * w // 3, 3 * h // 4)
    draw_product(im, kind, box, color or base_color)
    if with_logo:
        at = logo_at or ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
        paste_logo(im, brand, at, logo_size, variant, angle)
    return im


def write_catalog() -> None:
    for brand_id, data in BRANDS.items():
        folder = CATALOG / brand_id
        (folder / "logos").mkdir(parents=True, exist_ok=True)
        (folder / "references").mkdir(parents=True, exist_ok=True)
        write_yaml(folder / "brand.yaml", data)
        for v, (bg, fg) in enumerate(VARIANTS):
            kwargs = {"bg": bg} | ({"fg": fg} if fg else {})
            LOGOS[brand_id](**kwargs).save(folder / "logos" / f"logo_{v}.png")
        for r, bg in enumerate(("studio", "studio", "plain")):
            product_shot(brand_id, bg=bg, logo_size=120 - 20 * r, size=(640, 480)).save(
                folder / "references" / f"official_{r}.jpg", quality=92)


# --------------------------------------------------------------------------- listings
def write_listings() -> None:
    img_dir = SAMPLES / "images"
    img_dir.mkdir(parents=True, exist_ok=True)

    def save(name: str, im: Image.Image) -> str:
        im.save(img_dir / name, quality=88)
        return f"images/{name}"

    stolen = Image.open(CATALOG / "velora" / "references" / "official_0.jpg").convert("RGB")
    stolen = stolen.crop((30, 20, 610, 470)).resize((520, 400))
    ImageDraw.Draw(stolen).text((20, 360), "best deal!!", fill=(255, 0, 0), font=font(28))

    banner = product_shot("korvex", bg="wood", logo_size=70, variant=1, logo_at=(420, 300))
    ImageDraw.Draw(banner).text((30, 30), "INSPIRED BY KORVEX", fill=(0, 0, 0), font=font(36))

    rows = [
        dict(id="genuine-official", title="Velora Aurora Tote in burgundy calfskin", price=890, currency="USD",
             seller_id="velora-official", category="bags",
             images=[save("velora_official.jpg", product_shot("velora"))]),
        dict(id="genuine-resale", title="Pre-owned Korvex Stormrunner running shoes, size 42", price=95,
             currency="USD", seller_id="sneaker-resale-44", category="shoes",
             images=[save("korvex_resale.jpg", product_shot("korvex", bg="plain", logo_size=70, variant=1,
                                                          color=(235, 235, 240), size=(800, 800)))]),
        dict(id="fake-replica", title="Velora style tote bag replica AAA quality", price=39, currency="USD",
             seller_id="shop-8812", category="bags",
             images=[save("velora_fake.jpg", product_shot("velora", bg="wood", logo_size=70, variant=2,
                                                         color=(90, 30, 40)))]),
        dict(id="fake-evasive", title="V3l0ra Aurora tote bag leather", price=45, currency="USD",
             seller_id="shop-8812", category="bags",
             images=[save("velora_evasive.jpg", product_shot("velora", bg="plain", logo_size=80, variant=1))]),
        dict(id="fake-stolen-photo", title="Luxury leather tote handbag burgundy", price=49, currency="USD",
             seller_id="deals-4u", category="bags", images=[save("velora_stolen.jpg", stolen)]),
        dict(id="fake-hidden-logo", title="Designer watch men automatic blue dial", price=900, currency="USD",
             seller_id="watch-world-1", category="watches",
             images=[save("haldane_hidden.jpg", product_shot("haldane", bg="wood", logo_size=100,
                                                             logo_at=(480, 110)))]),
        dict(id="fake-ocr-banner", title="Running sneakers men black", price=29, currency="USD",
             seller_id="kicks-cheap", category="shoes", images=[save("korvex_banner.jpg", banner)]),
        dict(id="accessory-case", title="Silicone case for Nimbly One, shockproof", price=12, currency="USD",
             seller_id="case-maker", category="phone accessories",
             images=[save("nimbly_case.jpg", product_shot("nimbly", with_logo=False, color=(230, 120, 60)))]),
        dict(id="unrelated-mug", title="Handmade ceramic coffee mug 350 ml", price=18, currency="USD",
             seller_id="pottery-studio", category="kitchen",
             images=[save("mug.jpg", background(640, 480, "plain"))]),
        dict(id="genuine-haldane-authorized", title="Haldane Meridian automatic watch", price=2100,
             currency="USD", seller_id="haldane-boutique", category="watches",
             images=["../brand_catalog/haldane/references/official_0.jpg"]),
    ]
    bad = write_bad_inputs(img_dir)
    rows += [
        dict(id="bad-missing-image", title="Korvex Apex Trainer", price=80, currency="USD", seller_id="s1",
             images=["images/does_not_exist.jpg"]),
        dict(id="bad-corrupt-image", title="Korvex Apex Trainer replica", price=20, currency="USD", seller_id="s2",
             images=[bad["corrupt"]]),
        dict(id="bad-not-an-image", title="Nimbly Pad tablet", price=250, currency="USD", seller_id="s3",
             images=[bad["text"]]),
        dict(id="bad-bomb", title="Velora Siena Clutch", price=300, currency="USD", seller_id="s4",
             images=[bad["bomb"]]),
        dict(id="bad-empty-title", title="", price=10, currency="USD", seller_id="s5"),
        dict(id="bad-huge-title", title="Velora " + "very " * 2000 + "bag", price=10, currency="USD",
             seller_id="s6"),
        dict(id="bad-negative-price", title="Haldane Meridian watch", price=-5, currency="USD", seller_id="s7"),
        dict(id="bad-unknown-field", title="Korvex Stormrunner", price=100, currency="USD", seller_id="s8",
             colour="red"),
    ]
    with open(SAMPLES / "listings.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write('{"id": "bad-nan-price", "title": "Velora Aurora Tote", "price": NaN, "currency": "USD"}\n')
        f.write('this line is not json\n')
        f.write('["not", "an", "object"]\n')


def write_bad_inputs(img_dir: Path) -> dict[str, str]:
    (img_dir / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(RNG.randrange(256) for _ in range(300)))
    (img_dir / "notes.jpg").write_text("this is a text file, not a photo\n")
    # A decompression bomb: a valid PNG header claiming 100,000 x 100,000 pixels.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    (img_dir / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                       + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    return {"corrupt": "images/corrupt.jpg", "text": "images/notes.jpg", "bomb": "images/bomb.png"}


if __name__ == "__main__":
    write_catalog()
    write_listings()
    print(f"wrote {CATALOG} and {SAMPLES}")
