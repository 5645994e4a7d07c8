"""Held-out evasions: a typo beside an ordinary word in a multi-word name, leetspeak
with a typo, names glued by case, "for <ambiguous brand>"; and the hard negatives
each rule must leave alone."""

from __future__ import annotations

import pytest

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.titles import TitleMatcher


@pytest.mark.parametrize("title, brand, reasons, text", [
    ("Luis Vuitton Speedy bag", "louis-vuitton", ("misspelling",), "Luis Vuitton"),
    ("Luis Vuitton wallet", "louis-vuitton", ("misspelling",), "Luis Vuitton"),
    ("Michael Kor bag tote", "michael-kors", ("misspelling",), "Michael Kor"),
    ("Micheal Kor crossbody bag", "michael-kors", ("misspelling",), "Micheal Kor"),
    ("Gucc1i belt leather", "gucci", ("leetspeak", "misspelling"), "Gucc1i"),
    ("R0lexx Submariner watch", "rolex", ("leetspeak", "misspelling"), "R0lexx"),
    ("Addid4s running shoes", "adidas", ("leetspeak", "misspelling"), "Addid4s"),
])
def test_heldout_typos_are_misuse(matcher, title, brand, reasons, text):
    found = {f.brand_id: f for f in matcher.match(title)}
    assert brand in found, found
    finding = found[brand]
    assert (finding.verdict, finding.reasons, finding.matched_text) == ("misuse", reasons, text)
    assert title[finding.span[0]:finding.span[1]] == text


@pytest.mark.parametrize("title", [
    "Louis Armstrong vinyl record",   # exact first word, unrelated second word
    "Michael Jordan poster",
    "Luis Miguel concert tickets",
    "Michael Kor",                    # a very common exact partner needs brand context
    "Gucc1i",                         # leet + typo needs brand context too
    "Pr4daa 2024 sticker",
    "hl2270dw toner a1200 wd5000",    # model numbers are never leetspeak
    "CoachBus tour tickets",          # a glued ambiguous name still needs context
    "PumaPlush toy for kids",
    "whistle for coach",              # lower-case: the ordinary word
    "Football whistle for coach training",
    "Gift for Coach",                 # a present for a person, not a part for a bag
    "Thank you card for Coach and team",
    "Slicer for apple and pear",
])
def test_heldout_hard_negatives(verdicts, title):
    assert verdicts(title) == {}


def test_multiword_typo_beside_common_word_needs_context():
    cat = Catalog.from_brands([Brand(id="ray-ban", name="Ray-Ban", product_lines=("Wayfarer", "Aviator"),
                                     categories=("sunglasses", "eyewear"))])
    m = TitleMatcher.from_catalog(cat)
    verdict = {f.brand_id: (f.verdict, f.reasons) for f in m.match("Ray-Bann Wayfarer sunglasses")}
    assert verdict == {"ray-ban": ("misuse", ("misspelling",))}
    assert m.match("Ray Bann aviator sunglasses")[0].verdict == "misuse"
    assert m.match("Ray of light lamp") == []
    assert m.match("Ray Barn wood sign rustic") == []  # "ray" is too common to vouch alone


@pytest.mark.parametrize("title, brand, verdict, text", [
    ("NikeAir Max 90 white", "nike", "mention", "Nike"),
    ("GucciBag black leather", "gucci", "mention", "Gucci"),
    ("LouisVuittonBag monogram", "louis-vuitton", "mention", "LouisVuitton"),
    ("NIKEAir Max 90", "nike", "mention", "NIKE"),
    ("GucciBag mirror quality", "gucci", "misuse", "Gucci"),
    ("NikeAir Max 1:1 replica", "nike", "misuse", "Nike"),
])
def test_camel_case_glued_names(matcher, title, brand, verdict, text):
    """A name glued by case names the brand like a glued multi-word name: misuse only by another rule."""
    found = {f.brand_id: f for f in matcher.match(title)}
    assert found[brand].verdict == verdict
    assert found[brand].matched_text == text


def test_for_capitalised_ambiguous_brand_is_false_compatibility(verdicts):
    assert verdicts("Replacement strap for Coach") == {"coach": ("misuse", ("false_compatibility",))}
    assert verdicts("Gold charm for Coach") == {"coach": ("misuse", ("false_compatibility",))}
    # Title case and capitals carry no proper-noun signal; brands whose accessories are
    # normal (Apple) keep the no-context rule.
    assert verdicts("Gold Charm For Coach") == {}
    assert "apple" not in verdicts("Batteries for Apple remote")
