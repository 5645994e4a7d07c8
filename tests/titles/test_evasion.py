"""Evasive spellings: each recognised case, with its reason code and span."""

from __future__ import annotations

import pytest

CASES = [
    ("Guccci Marmont bag", "gucci", "misspelling", "Guccci"),
    ("Louis Vuiton Neverfull", "louis-vuitton", "misspelling", "Louis Vuiton"),
    ("Micheal Kors Jet Set tote", "michael-kors", "misspelling", "Micheal Kors"),
    ("N1ke Air Max 90", "nike", "leetspeak", "N1ke"),
    ("Ch@nel bag", "chanel", "leetspeak", "Ch@nel"),
    ("Guccl belt", "gucci", "lookalike_chars", "Guccl"),
    ("Abibas shoes", "adidas", "lookalike_chars", "Abibas"),
    ("arnazon gift card", "amazon", "lookalike_chars", "arnazon"),
    ("Gücci loafers", "gucci", "lookalike_chars", "Gücci"),
    ("G-U-C-C-I bag", "gucci", "spaced_letters", "G-U-C-C-I"),
    ("N.I.K.E shoes", "nike", "spaced_letters", "N.I.K.E"),
    ("Gu\u200bcci bag", "gucci", "invisible_chars", "Gu\u200bcci"),
    ("Cha\u00adnel flap", "chanel", "invisible_chars", "Cha\u00adnel"),
    ("Gucсi bag", "gucci", "homoglyph_script_mix", "Gucсi"),
    ("Rοlex Daytona", "rolex", "homoglyph_script_mix", "Rοlex"),
    ("𝐆𝐮𝐜𝐜𝐢 belt", "gucci", "styled_letters", "𝐆𝐮𝐜𝐜𝐢"),
    ("🅡🅞🅛🅔🅧 watch", "rolex", "styled_letters", "🅡🅞🅛🅔🅧"),
    ("Ⓝⓘⓚⓔ hoodie", "nike", "styled_letters", "Ⓝⓘⓚⓔ"),
    ("gucky bag", "gucci", "evasive_alias", "gucky"),
    ("Luxury 古驰 handbag women", "gucci", "foreign_script_name", "古驰"),
    ("Sneakers Найк running", "nike", "foreign_script_name", "Найк"),
]


@pytest.mark.parametrize("title, brand, reason, text", CASES)
def test_evasion_is_misuse_with_reason_and_span(matcher, title, brand, reason, text):
    found = {f.brand_id: f for f in matcher.match(title)}
    assert brand in found, found
    finding = found[brand]
    assert finding.verdict == "misuse"
    assert reason in finding.reasons
    assert finding.matched_text == text
    assert title[finding.span[0]:finding.span[1]] == text
    assert 0 < finding.score <= 1


@pytest.mark.parametrize("title, brand", [
    ("ＧＵＣＣＩ bag", "gucci"),       # fullwidth from a CJK keyboard is not evasion
    ("古驰 女士 包", "gucci"),          # a native-script name in a title of that script
    ("Hermès-free Gucci bag", "gucci"),
    ("GUCCİ YA1264007 Bayan Kol Saati", "gucci"),  # Turkish dotted capital I
])
def test_ordinary_unicode_is_a_mention(verdicts, title, brand):
    assert verdicts(title)[brand] == ("mention", ())


@pytest.mark.parametrize("title", [
    "Nikel plated hinge",      # word boundary
    "Mike Tyson poster",       # no typos on names of four letters
    "deli meats sliced",       # an ordinary word folding onto Dell
    "TV channel remote",       # an ordinary word one typo from Chanel, no product line
    "Diorama kit",
    "cs5 design premium",
])
def test_near_misses_are_not_findings(verdicts, title):
    assert verdicts(title) == {}


def test_common_word_typo_counts_with_the_brands_product_line(verdicts):
    assert verdicts("Channel Boy Bag quilted")["chanel"][0] == "misuse"


def test_short_name_typo_needs_product_line(verdicts):
    assert verdicts("Dioor Saddle bag")["dior"] == ("misuse", ("misspelling",))
    assert verdicts("Dioor bag") == {}


def test_typo_next_to_another_brand_is_that_brands_product(matcher):
    from counterfeit_vision.catalog import Brand, Catalog
    from counterfeit_vision.titles import TitleMatcher

    # Electron sells electronics: a typo of a brand whose goods are unknown needs brand context
    cat = Catalog.from_brands([Brand(id="electron", name="Electron", categories=("electronics",),
                                     compatible_accessories=("case",)),
                               Brand(id="da-lite", name="Da-Lite", compatible_accessories=("case",))])
    m = TitleMatcher.from_catalog(cat, common_words=())
    assert [f.brand_id for f in m.match("electrol screen")] == ["electron"]
    assert [(f.brand_id, f.verdict) for f in m.match("da-lite advantage electrol screen")] == [("da-lite", "mention")]
