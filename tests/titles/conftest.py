"""Shared fixtures: a small in-memory catalogue and a matcher compiled once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from counterfeit_vision.catalog import DEFAULT_ACCESSORY_WORDS, Brand, Catalog
from counterfeit_vision.titles import TitleMatcher

REPO = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    env = os.environ.get("CV_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _brands() -> list[Brand]:
    return [
        Brand(id="nike", name="Nike", aliases=("耐克", "Найк"), product_lines=("Air Max", "Air Force 1", "Dunk"),
              categories=("shoes", "clothing"), evasive_aliases=("naike",)),
        Brand(id="gucci", name="Gucci", aliases=("古驰",), abbreviations=("GG",),
              product_lines=("Marmont", "Dionysus"), categories=("bags", "shoes", "clothing", "belts"),
              evasive_aliases=("gucky",)),
        Brand(id="chanel", name="Chanel", abbreviations=("CC",), product_lines=("Boy Bag", "Classic Flap"),
              categories=("bags", "perfume")),
        Brand(id="louis-vuitton", name="Louis Vuitton", abbreviations=("LV",),
              product_lines=("Neverfull", "Speedy"), categories=("bags",)),
        Brand(id="michael-kors", name="Michael Kors", abbreviations=("MK",), product_lines=("Jet Set",),
              categories=("bags", "watches")),
        Brand(id="calvin-klein", name="Calvin Klein", abbreviations=("CK",), categories=("clothing", "underwear")),
        Brand(id="adidas", name="Adidas", product_lines=("Samba", "Ultraboost"), categories=("shoes", "clothing")),
        Brand(id="puma", name="Puma", ambiguous=True, categories=("shoes", "clothing"),
              negative_context=("animal", "plush")),
        Brand(id="coach", name="Coach", ambiguous=True, product_lines=("Tabby",), categories=("bags",),
              negative_context=("bus", "football", "tour")),
        Brand(id="apple", name="Apple", ambiguous=True, product_lines=("iPhone", "iPad"),
              categories=("electronics",), compatible_accessories=DEFAULT_ACCESSORY_WORDS,
              negative_context=("juice", "fruit")),
        Brand(id="rolex", name="Rolex", product_lines=("Submariner", "Daytona"), categories=("watches",)),
        Brand(id="hp", name="HP", product_lines=("LaserJet",), compatible_accessories=("toner", "ink")),
        Brand(id="dell", name="Dell", compatible_accessories=DEFAULT_ACCESSORY_WORDS),
        Brand(id="amazon", name="Amazon", compatible_accessories=DEFAULT_ACCESSORY_WORDS),
        Brand(id="margiela", name="Maison Margiela", product_lines=("Replica",), own_terms=("Replica",),
              categories=("perfume",)),
        Brand(id="toyota", name="Toyota", compatible_accessories=("parts", "brake"), categories=("cars",)),
        Brand(id="duracell", name="Duracell", categories=("batteries",)),
        Brand(id="lego", name="LEGO", product_lines=("Technic",), categories=("toys",)),
        Brand(id="prada", name="Prada", categories=("bags",)),
        Brand(id="dior", name="Dior", abbreviations=("CD",), product_lines=("Saddle",), categories=("bags",)),
    ]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.from_brands(_brands())


@pytest.fixture(scope="session")
def matcher(catalog: Catalog) -> TitleMatcher:
    return TitleMatcher.from_catalog(catalog)


@pytest.fixture(scope="session")
def verdicts(matcher: TitleMatcher):
    """title -> {brand_id: (verdict, reasons)}."""

    def run(title: str, **kwargs) -> dict[str, tuple[str, tuple[str, ...]]]:
        return {f.brand_id: (f.verdict, f.reasons) for f in matcher.match(title, **kwargs)}

    return run
