"""Context rules: phrasing, indicators and their guards, stuffing, compatibility, ambiguity."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("title, brand", [
    ("Gucci style belt", "gucci"),
    ("Rolex-type automatic watch", "rolex"),
    ("Handbag inspired by Chanel", "chanel"),
    ("Gucci Marmont inspired bag", "gucci"),
    ("Prada dupe bag", "prada"),
    ("Sneakers same as Nike Air Max", "nike"),
    ("Comparable to Louis Vuitton Neverfull", "louis-vuitton"),
    ("Not Louis Vuitton tote", "louis-vuitton"),
])
def test_lookalike_phrase(verdicts, title, brand):
    verdict, reasons = verdicts(title)[brand]
    assert verdict == "misuse" and "lookalike_phrase" in reasons


@pytest.mark.parametrize("title", [
    "Nike Air Max 90 style code 924447",
    "Apple iPhone USB type c cable",
    "Gucci pouch style bag",
])
def test_style_words_not_about_the_brand(verdicts, title):
    assert all("lookalike_phrase" not in r for _, r in verdicts(title).values())


@pytest.mark.parametrize("title, brand", [
    ("Replica Rolex Submariner", "rolex"),
    ("Rolex Submariner 1:1", "rolex"),
    ("Gucci bag AAA quality", "gucci"),
    ("Gucci bag mirror quality", "gucci"),
    ("Chanel flap original quality", "chanel"),
    ("Nike Dunk top grade", "nike"),
    ("OEM Nike Air Max", "nike"),
    ("Unbranded Prada bag", "prada"),
    ("高仿 Gucci 包包", "gucci"),
    ("LV 同款 包", "louis-vuitton"),
    ("一比一 古驰 包", "gucci"),
])
def test_indicators(verdicts, title, brand):
    verdict, reasons = verdicts(title)[brand]
    assert verdict == "misuse" and "indicator" in reasons


@pytest.mark.parametrize("title, brand", [
    ("Nike Air Force 1 1:18 scale model", "nike"),
    ("Duracell AAA batteries 24 pack", "duracell"),
    ("OEM Toyota brake pads front", "toyota"),
    ("Adidas Real Madrid replica jersey officially licensed", "adidas"),
    ("Maison Margiela Replica Jazz Club 100ml", "margiela"),
    ("HP 85A toner cartridge OEM", "hp"),
])
def test_indicator_guards(verdicts, title, brand):
    assert verdicts(title)[brand] == ("mention", ())


def test_aaa_batteries_for_ambiguous_apple_without_context(verdicts):
    assert "apple" not in verdicts("AAA batteries for Apple TV remote")


def test_brand_stuffing(verdicts):
    found = verdicts("Running shoes Nike Adidas Puma")
    assert set(found) == {"nike", "adidas", "puma"}
    assert all(v == "misuse" and "brand_stuffing" in r for v, r in found.values())
    assert verdicts("Nike Adidas t-shirt")["nike"][1] == ("brand_stuffing",)


@pytest.mark.parametrize("title", ["Adidas x Gucci Gazelle", "Nike × Gucci sneakers",
                                   "Louis Vuitton collaboration Nike Air Force 1"])
def test_collaboration_is_not_stuffing(verdicts, title):
    assert all(v == "mention" for v, _ in verdicts(title).values())


@pytest.mark.parametrize("title, brands", [
    ("T-shirt for Nike fans", ["nike"]),
    ("Watch band for Rolex Submariner", ["rolex"]),
    ("Building blocks compatible with LEGO Technic", ["lego"]),
    ("Sneakers for Nike Adidas and Puma fans", ["nike", "adidas", "puma"]),
    ("T-shirt for Apple iPhone fans", ["apple"]),
])
def test_false_compatibility(verdicts, title, brands):
    found = verdicts(title)
    for brand in brands:
        assert found[brand][0] == "misuse" and "false_compatibility" in found[brand][1]


@pytest.mark.parametrize("title, brand", [
    ("Case for iPhone 13 clear", "apple"),
    ("Toner for HP LaserJet Pro", "hp"),
    ("USB-C cable for Apple iPad", "apple"),
    ("Car brake pads for Toyota Corolla", "toyota"),
    ("Dell laptop sleeve", "dell"),
    ("Nike shoes for men", "nike"),
])
def test_legitimate_compatibility_is_mention(verdicts, title, brand):
    assert verdicts(title)[brand] == ("mention", ())


@pytest.mark.parametrize("title, brand", [
    ("LV Neverfull bag", "louis-vuitton"),
    ("MK Jet Set tote", "michael-kors"),
    ("CK boxer briefs underwear", "calvin-klein"),
    ("replica LV wallet", "louis-vuitton"),
    ("L V monogram Speedy", "louis-vuitton"),
])
def test_corroborated_abbreviation(verdicts, title, brand):
    verdict, reasons = verdicts(title)[brand]
    assert verdict == "misuse" and "abbreviation" in reasons


@pytest.mark.parametrize("title", ["MK4 Golf grille", "12V LV battery charger", "LV wiring loom",
                                   "CD wallet 48 capacity", "CC cream SPF 50", "GG size hooks"])
def test_uncorroborated_abbreviation_is_nothing(verdicts, title):
    assert verdicts(title) == {}


def test_abbreviation_next_to_full_name_is_mention(verdicts):
    assert verdicts("Louis Vuitton LV Neverfull")["louis-vuitton"] == ("mention", ())


@pytest.mark.parametrize("title", ["Coach bus tour Rome", "Football coach whistle", "Apple juice 1L",
                                   "Puma plush animal", "apple fruit basket", "Puma"])
def test_ambiguous_names_need_context(verdicts, title):
    assert verdicts(title) == {}


@pytest.mark.parametrize("title, brand, verdict", [
    ("Coach Tabby shoulder bag", "coach", "mention"),
    ("Coach style handbag", "coach", "misuse"),
    ("Puma running shoes", "puma", "mention"),
    ("Apple iPhone 13 128GB", "apple", "mention"),
])
def test_ambiguous_names_with_context(verdicts, title, brand, verdict):
    assert verdicts(title)[brand][0] == verdict


def test_category_argument_gives_context(verdicts):
    assert verdicts("Puma classic", category="shoes")["puma"][0] == "mention"
    assert verdicts("Puma classic") == {}
