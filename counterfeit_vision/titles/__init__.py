"""Title engine: does a listing title (or OCR text) misuse a catalogue brand?

Usage::

    from counterfeit_vision.titles import TitleMatcher
    matcher = TitleMatcher.from_catalog(catalog)      # compile once, all brands
    matcher.match("Guссi bag 1:1 mirror quality")       # -> [TitleFinding(...)]

Verdicts per brand: ``misuse`` (some reason below holds), ``mention`` (the
brand is named legitimately) and no finding at all for unrelated titles.

Reason codes
------------
Spelling (read off the brand text itself):

* ``misspelling`` -- typo within a budget scaled to the name's length (none for
  names of 4 letters or less); never for ordinary words or other brands' names.
  In a multi-word name a short ordinary word may be the typo'd one (Luis Vuitton,
  Michael Kor) only beside an exactly spelt word of the name; when that word is
  itself very common (Michael, Ray) the brand also needs context (bag, Wayfarer).
* ``leetspeak`` -- digits or symbols for letters (N1ke, Ch@nel, $ony); with a typo
  on top (Gucc1i: ``leetspeak`` + ``misspelling``) only with brand context.
* ``lookalike_chars`` -- ASCII look-alikes (Guccl, Abibas, Arnazon, vv for w) and
  accents on a brand written without them (Gücci).
* ``spaced_letters`` -- letters split by spaces or punctuation (G-U-C-C-I, N.I.K.E).
* ``invisible_chars`` -- zero-width or other invisible characters inside the name.
* ``homoglyph_script_mix`` -- letters of another script imitating Latin ones
  (Cyrillic ``с`` in Gucсi), by the Unicode confusables table.
* ``styled_letters`` -- mathematical, circled, squared or small-capital letters.
  Fullwidth Latin is folded silently: CJK keyboards produce it innocently.
* ``evasive_alias`` -- a catalogue ``evasive_aliases`` term (slang, pinyin).
* ``foreign_script_name`` -- only a non-Latin name of the brand (古驰) in a
  mostly Latin-script title; in a title of that script it is a mention.

Context (read around the brand):

* ``lookalike_phrase`` -- style, -type, inspired by, dupe, comparable to, same as, not <brand>.
* ``indicator`` -- replica, 1:1, AAA, mirror/original quality, top grade, OEM,
  unbranded, fake, 高仿 / 同款 / 一比一 ... with guards: 1:18 scale models,
  AAA batteries, OEM car parts (and OEM for accessory brands), licensed replica
  jerseys, replica scale models, and the brand's own ``own_terms``.
* ``false_compatibility`` -- "for <brand>" (or a "for" list of brands) when the
  brand's ``compatible_accessories`` is empty, or when the product is clothing,
  bags, shoes, watches or jewellery rather than one of the accessory words. For an
  ambiguous brand without accessories, "strap for Coach" (capitalised name after a
  lower-case "for", title not in title case) is itself brand context.
* ``brand_stuffing`` -- three or more unrelated brands, or two brands of the
  same category; collaborations (Adidas x Gucci) count as one, and brands that
  allow third-party accessories never count.
* ``abbreviation`` -- an abbreviation (LV, MK, CK) standing for the brand; only
  reported with corroboration (product line, category word, indicator, look-alike
  phrase) and when the full name is absent. Tokens like MK4 or 12V never match.

Names glued to the brand's own product or category word by case only (GucciBag,
NikeAir Max) name the brand like a glued multi-word name (louisvuitton) does: a
mention, misuse only when another reason holds.

Ambiguous names (``ambiguous: true``: Coach, Apple, Puma, Gap, Guess) need brand
context, and any ``negative_context`` phrase in the title suppresses the brand
except for deliberate obfuscation (homoglyphs, invisible or styled letters,
evasive aliases).
"""

from counterfeit_vision.titles.matcher import REASON_WEIGHTS, TitleFinding, TitleMatcher

__all__ = ["REASON_WEIGHTS", "TitleFinding", "TitleMatcher"]
