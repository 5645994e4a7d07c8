"""Messy real catalogues: shared names, word-like names, stuffing that means stuffing, product
lines, split names, licensed merchandise and units, and what `brand check` says about them."""

from __future__ import annotations

import argparse

import pytest
import yaml

from counterfeit_vision.catalog import DEFAULT_ACCESSORY_WORDS, Brand, Catalog
from counterfeit_vision.catalog_checks import catalog_warnings
from counterfeit_vision.titles import TitleMatcher


def _brands() -> list[Brand]:
    return [
        Brand(id="nike", name="Nike", product_lines=("Air Max", "Mercurial"), categories=("shoes", "clothing")),
        Brand(id="adidas", name="Adidas", product_lines=("Samba",), categories=("shoes", "clothing")),
        Brand(id="puma", name="Puma", categories=("shoes", "clothing")),
        Brand(id="prada", name="Prada", categories=("bags",)),
        Brand(id="gucci", name="Gucci", categories=("bags", "belts")),
        Brand(id="off-white", name="Off-White", categories=("shoes", "clothing")),
        Brand(id="black", name="Black", categories=("bags", "clothing")),
        Brand(id="ice", name="Ice", categories=("watches",)),
        Brand(id="boss", name="Boss", categories=("clothing", "watches"), ambiguous_names=(("Boss", False),)),
        Brand(id="mercurial", name="Mercurial"),  # version control software: Nike's line too
        Brand(id="w", name="W", categories=("clothing",)),
        Brand(id="samsung", name="Samsung", product_lines=("Galaxy",), categories=("electronics",),
              compatible_accessories=DEFAULT_ACCESSORY_WORDS),
        Brand(id="apple", name="Apple", ambiguous=True, product_lines=("AirPods", "iPhone"),
              categories=("electronics",), compatible_accessories=DEFAULT_ACCESSORY_WORDS),
        Brand(id="hp", name="HP", categories=("printers",), compatible_accessories=("toner", "ink")),
        Brand(id="ferrari", name="Ferrari", categories=("cars",)),
        # two owners of one word, in different classes of goods
        Brand(id="bat-sports", name="Bat", aliases=("Batsport",), categories=("sports",)),
        Brand(id="bat-token", name="Basic Attention Token", aliases=("Bat",), categories=("software",)),
        Brand(id="terraform", name="Terraform"),
        Brand(id="opentofu", name="OpenTofu", aliases=("Terraform",)),
        Brand(id="powermat", name="Powermat", categories=("chargers",)),
        Brand(id="power-mat", name="Power-Mat", categories=("chargers",)),
    ]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_brands(_brands())


@pytest.fixture(scope="module")
def run(catalog):
    matcher = TitleMatcher.from_catalog(catalog)

    def verdicts(title: str, **kw) -> dict[str, tuple[str, tuple[str, ...]]]:
        return {f.brand_id: (f.verdict, f.reasons) for f in matcher.match(title, **kw)}

    verdicts.matcher = matcher
    return verdicts


def test_marks_carry_their_reasons_and_the_override(run):
    marks = {(m.brand_id, m.name): m for m in run.matcher.lexicon.marks}
    assert "colour" in marks[("black", "Black")].reasons and marks[("black", "Black")].ambiguous
    assert "colour" in marks[("off-white", "Off-White")].reasons
    assert "short" in marks[("w", "W")].reasons
    assert "unit" in marks[("hp", "HP")].reasons
    assert "product_line:nike" in marks[("mercurial", "Mercurial")].reasons
    assert "shared:bat-token" in marks[("bat-sports", "Bat")].reasons
    boss = marks[("boss", "Boss")]
    assert "common_word" in boss.reasons and boss.overridden and not boss.ambiguous
    assert ("nike", "Nike") not in marks and ("gucci", "Gucci") not in marks


@pytest.mark.parametrize("title, brand", [
    ("Nike Air Max 90 black white", "nike"),          # colours that are brands
    ("Nike Mercurial Vapor football boots", "nike"),   # another brand's name as Nike's own line
    ("Gucci belt with ice blue buckle", "gucci"),      # a common word that is a brand
    ("Prada nylon bag size W", "prada"),               # a one-letter brand
    ("Nike hoodie in off white", "nike"),              # a colour phrase that is a brand
    ("Off white Nike hoodie", "nike"),                 # ... even right beside the brand
    ("Nike W black Air Max", "nike"),                  # marked names listed beside one real brand
])
def test_a_word_like_second_name_is_no_stuffing(run, title, brand):
    found = run(title)
    assert found[brand] == ("mention", ())
    assert all("brand_stuffing" not in r for _, r in found.values())


def test_real_stuffing_is_still_stuffing(run):
    found = run("Running shoes Nike Adidas Puma sneakers")
    assert {b for b, (v, r) in found.items() if "brand_stuffing" in r} == {"nike", "adidas", "puma"}
    found = run("Gucci Prada bag leather")
    assert found["gucci"][1] == ("brand_stuffing",) and found["prada"][1] == ("brand_stuffing",)
    # a marked name counts once it stands in the list beside distinctive names
    found = run("Women shoes Nike Adidas Off-White Puma")
    assert "brand_stuffing" in found["off-white"][1]


def test_an_overridden_name_counts_as_a_brand(run):
    assert run("Boss Nike tracksuit")["boss"] == ("misuse", ("brand_stuffing",))
    assert run("like a boss")["boss"] == ("mention", ())  # the brand said so: no context needed


def test_word_like_name_needs_its_own_context(run):
    assert "black" not in run("unbranded black phone case replica")  # counterfeit cues say nothing of Black
    assert run("Black leather bag")["black"] == ("mention", ())


def test_collaboration_attributes_both_brands(run):
    found = run("Nike x Off-White Air Max 90")
    assert found["nike"] == ("mention", ()) and found["off-white"] == ("mention", ())
    assert run("Off-White x Nike Blazer")["off-white"] == ("mention", ())


def test_compatibility_list_is_no_stuffing(run):
    found = run("Charger for Samsung Galaxy, iPhone and Nike watch bands")
    assert all("brand_stuffing" not in r for _, r in found.values())


def test_shared_name_is_attributed_by_category_or_reported_ambiguous(run):
    m = run.matcher
    (f,) = [f for f in m.match("Batsport cricket bat sports") if f.brand_id.startswith("bat")]
    assert f.brand_id == "bat-sports"
    by_category = {f.brand_id for f in m.match("Bat grip tape", category="sports")}
    assert "bat-sports" in by_category and "bat-token" not in by_category
    found = {f.brand_id: f for f in m.match("Terraform modules handbook")}
    assert set(found) == {"terraform", "opentofu"}  # nothing tells: both, marked, never one silently
    assert found["terraform"].shared_with == ("opentofu",) and "shared_name" in found["terraform"].context
    assert found["opentofu"].shared_with == ("terraform",)


def test_one_brand_entered_twice_is_no_stuffing(run):
    found = run("Powermat wireless charging mat")
    assert set(found) == {"powermat", "power-mat"}
    assert all(v == "mention" for v, _ in found.values())


def test_product_line_implies_its_brand(run):
    assert run("Unbranded earbuds, same as original AirPods Pro 2")["apple"][0] == "misuse"
    found = run("unbranded same as original Galaxy Buds Pro")
    assert found["samsung"][0] == "misuse" and "indicator" in found["samsung"][1]
    assert run("Galaxy S23 Ultra")["samsung"] == ("mention", ())
    assert run("milky way galaxy poster") == {}  # the word, with no model after it


@pytest.mark.parametrize("title, brand", [("Pra da nylon shoulder bag", "prada"), ("Gu cci belt", "gucci"),
                                          ("adi das samba", "adidas")])
def test_split_name_is_caught(run, title, brand):
    verdict, reasons = run(title)[brand]
    assert verdict == "misuse" and "split_name" in reasons


@pytest.mark.parametrize("title", ["can on the table", "pick up the phone", "a nice pair of shoes"])
def test_ordinary_two_word_phrases_are_not_split_names(title):
    m = TitleMatcher.from_catalog(Catalog.from_brands([
        Brand(id="canon", name="Canon", categories=("electronics",)),
        Brand(id="pickup", name="Pickup", categories=("electronics",))]))
    assert m.match(title) == []


def test_licensed_merchandise_and_units_are_not_misuse(run):
    assert run("Official licensed Ferrari F1 replica cap")["ferrari"] == ("mention", ())
    assert run("Ferrari replica helmet officially licensed collectible")["ferrari"] == ("mention", ())
    assert run("Replica Ferrari cap")["ferrari"][0] == "misuse"
    assert "hp" not in run("Lawn mower engine 10 HP petrol")
    assert run("HP 305 ink cartridge")["hp"] == ("mention", ())


def test_typo_of_a_brand_of_other_goods_is_a_coincidence():
    m = TitleMatcher.from_catalog(Catalog.from_brands([
        Brand(id="arkon", name="Arkon", categories=("electronics",)),
        Brand(id="electron", name="Electron")]))  # no categories: its goods are unknown
    assert m.match("Mens Aikon chronograph watch") == []
    assert m.match("Arkom phone charger")[0].reasons == ("misspelling",)
    assert m.match("electrol wide screen") == []
    assert m.match("genuine electrol brand")[0].brand_id == "electron"  # with brand context it counts


def test_catalogue_warnings(catalog):
    kinds = {(w.kind, w.brands) for w in catalog_warnings(catalog)}
    assert ("shared_name", ("bat-sports", "bat-token")) in kinds
    assert ("shared_name", ("opentofu", "terraform")) in kinds
    assert ("near_duplicate", ("power-mat", "powermat")) in kinds


def test_brand_check_warns_and_shows_marks(tmp_path, capsys):
    from counterfeit_vision.cli.catalog import register

    for raw in ({"id": "bat", "name": "Bat", "categories": ["sports"]},
                {"id": "bat-token", "name": "Basic Attention Token", "aliases": ["BAT"]},
                {"id": "red-tape", "name": "Red Tape"}, {"id": "redtape", "name": "Redtape"},
                {"id": "boss", "name": "Boss", "ambiguous_names": {"Boss": False}}):
        (tmp_path / raw["id"]).mkdir()
        (tmp_path / raw["id"] / "brand.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["brand", "check", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "shared_name: name 'Bat' is claimed by brands bat, bat-token" in out or "'BAT' is claimed" in out
    assert "near_duplicate" in out and "red-tape" in out and "redtape" in out
    assert "name bat: 'Bat': ambiguous (common_word, shared:bat-token)" in out
    assert "name boss: 'Boss': distinctive (common_word; set in brand.yaml ambiguous_names)" in out
    args = parser.parse_args(["brand", "check", str(tmp_path / "bat"), "--catalog", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "shared_name" in out and "near_duplicate" not in out


def test_a_co_brand_nobody_searches_for_is_no_stuffing():
    m = TitleMatcher.from_catalog(Catalog.from_brands([
        Brand(id="jwin", name="Jwin", categories=("electronics",)),
        Brand(id="iluv", name="iLuv", categories=("electronics",)),
        Brand(id="nike", name="Nike", categories=("shoes",)),
        Brand(id="adidas", name="Adidas", categories=("shoes",))]))
    assert {f.verdict for f in m.match("jwin iluv premium earphones pink")} == {"mention"}
    assert {f.reasons for f in m.match("Nike Adidas running shoes")} == {("brand_stuffing",)}


@pytest.mark.parametrize("unit", ["Pra da ", "Nike x Off-White ", "black Boss ice W ", "Terraform "])
def test_many_brands_in_long_text_cost_linear_time(run, unit):
    """Split names, collaborations, word-like and shared names repeated to the 2,000-character cap
    (OCR text): the multi-brand rules stay linear in the text's length."""
    import time

    run.matcher.match("warm up")
    best = {}
    for n in (500, 2000):
        times = []
        for k in range(3):
            title = f"{(unit * 400)[:n - 4]} {k}"
            t0 = time.perf_counter()
            run.matcher.match(title)
            times.append(time.perf_counter() - t0)
        best[n] = min(times)
    assert best[2000] < 0.2, f"{best[2000]:.3f} s for {unit!r} repeated to 2,000 characters"
    assert best[2000] < 8 * best[500] + 0.01  # 4x the text, well under 16x the time


def test_drop_contained_matches_the_brute_force_reference():
    import random

    from counterfeit_vision.titles.candidates import Hit, _drop_contained

    def reference(hits):
        return [h for h in hits if not any(
            o.entry != h.entry and o.plain_span[0] <= h.plain_span[0] and h.plain_span[1] <= o.plain_span[1]
            and o.plain_span[1] - o.plain_span[0] > h.plain_span[1] - h.plain_span[0] for o in hits)]

    rnd = random.Random(7)
    for _ in range(300):
        hits = []
        for _ in range(rnd.randint(1, 9)):
            s = rnd.randint(0, 20)
            hits.append(Hit(rnd.randint(0, 4), 0, "name", 0, 1, (s, s + rnd.randint(1, 8)), ()))
        assert _drop_contained(hits) == reference(hits)


def test_fast_path_agrees_with_the_full_rules(run, monkeypatch):
    """The fast path for plain mentions must give what the full rules give, multi-brand titles included."""
    titles = ["Nike Adidas running shoes", "Nike Air Max black", "Powermat charging mat", "Off-White x Nike",
              "Gucci Prada bag", "Boss Nike tracksuit", "Terraform handbook", "Nike x Apple watch",
              "HP 27 monitor", "10 HP motor", "Black leather bag", "Samsung Galaxy S23 and Nike shoes",
              "Nike Mercurial Vapor", "W Nike hoodie"]
    fast = [run.matcher.match(t) for t in titles]
    full = TitleMatcher(run.matcher.lexicon)
    monkeypatch.setattr(full, "_plain_mentions", lambda *a: None)
    assert fast == [full.match(t) for t in titles]
