"""Which brand names are ambiguous in titles, and why: marked once, when a catalogue is compiled.

A real catalogue holds names that are also ordinary title words: a colour (Off-White,
Black), a size or unit (Mini, HP), a common word (Ice, Boss, Arrow), one or two letters
(W, ID), another brand's product line (Genesis, Mercurial), or a name two brands share
(Bat). Such a name in a title is usually the word, not the brand. A marked name counts
only with the brand's own context (its category words, product lines, brand cues, or a
collaboration with another brand), and never makes brand stuffing on its own.

The marks carry their reasons, shown by ``brand check``; ``ambiguous_names`` in
``brand.yaml`` overrides them per name (``{Boss: false}``: the brand says its name is
distinctive; ``{Arrow: true}``: always treat it as a word). Brands with
``ambiguous: true`` keep the stricter gate of that flag for every name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from counterfeit_vision.catalog import Brand

__all__ = ["COLOUR_WORDS", "SIZE_WORDS", "UNIT_WORDS", "NameMark", "mark_names", "name_reasons"]

# Colours in the marketplace languages (en, es, de, fr, it, nl, pt) and their usual modifiers.
COLOUR_WORDS = frozenset("""
black white red green blue yellow orange purple pink brown grey gray silver gold beige navy teal
cyan magenta maroon olive ivory cream khaki tan coral turquoise violet lavender burgundy charcoal
indigo lime mint rose ruby emerald jade amber bronze copper champagne nude sand stone taupe
off light dark pale deep bright royal sky hot neon matte metallic multicolor multicolour
negro blanco rojo verde azul amarillo naranja morado rosa marron gris plata dorado
schwarz weiss weiß rot grün gruen blau gelb lila braun grau silber
noir blanc rouge vert bleu jaune violet marron gris argent doré
nero bianco rosso verde blu giallo arancione viola rosa marrone grigio argento oro
zwart wit rood groen blauw geel paars roze bruin grijs zilver goud
preto branco vermelho amarelo laranja roxo cinza prata dourado
""".split())

# Clothing and product sizes.
SIZE_WORDS = frozenset("""
xxs xs s m l xl xxl xxxl 2xl 3xl 4xl 5xl small medium large extra mini micro nano maxi petite plus
regular slim tall short wide narrow big tiny jumbo junior youth kids infant toddler one size
""".split())

# Units and their abbreviations: "10 HP", "4 GB", "500 ml" are quantities, not brands.
UNIT_WORDS = frozenset("""
hp kw w kwh wh v mv a ma mah ah hz khz mhz ghz db
b kb mb gb tb pb bit kbps mbps gbps
mm cm m km in ft yd mi inch inches
mg g kg lb lbs oz t
ml cl l dl gal qt pt fl
psi bar rpm cc ct mp pc pcs pk
""".split())


def _rule_words() -> frozenset[str]:
    from counterfeit_vision.titles.rules import BRAND_CUES, CUE_WORDS, INDICATOR_STARTS

    return frozenset(CUE_WORDS | INDICATOR_STARTS | BRAND_CUES)


_RULE_WORDS = _rule_words()


@dataclass(frozen=True)
class NameMark:
    """Why one name of a brand is ambiguous in titles (or why not: an override)."""

    brand_id: str
    name: str
    reasons: tuple[str, ...]  # common_word, colour, size, unit, short, rule_word, product_line:<id>, shared:<id>
    ambiguous: bool  # after the brand's own override
    overridden: bool = False

    def __str__(self) -> str:
        why = ", ".join(self.reasons) or "no automatic reason"
        state = "ambiguous" if self.ambiguous else "distinctive"
        return f"{self.name!r}: {state} ({why}{'; set in brand.yaml ambiguous_names' if self.overridden else ''})"


def _fold(name: str) -> tuple[str, ...]:
    from counterfeit_vision.titles.normalize import normalize

    return tuple(normalize(name).texts)


def name_reasons(tokens: tuple[str, ...], very_common: frozenset[str]) -> list[str]:
    """Word-like reasons of one name, from its plain tokens (no catalogue needed)."""
    if not tokens:
        return []
    reasons = []
    letters = sum(len(t) for t in tokens)
    if letters <= 2 and all(t.isascii() for t in tokens):
        reasons.append("short")
    if all(t in COLOUR_WORDS for t in tokens):
        reasons.append("colour")
    if all(t in SIZE_WORDS or t.isdigit() for t in tokens) and not all(t.isdigit() for t in tokens):
        reasons.append("size")
    if len(tokens) == 1 and tokens[0] in UNIT_WORDS:
        reasons.append("unit")
    if all(t in very_common or t.isdigit() for t in tokens) and not all(t.isdigit() for t in tokens):
        reasons.append("common_word")
    if all(t in _RULE_WORDS for t in tokens):
        reasons.append("rule_word")  # a word the title rules read (compatible, replica, official)
    return reasons


def mark_names(brands: Iterable[Brand], very_common: frozenset[str]) -> list[NameMark]:
    """Every marked (or overridden) name of every brand; names with no reason are left out."""
    brands = list(brands)
    owners: dict[tuple[str, ...], set[str]] = {}
    lines: dict[tuple[str, ...], set[str]] = {}
    for brand in brands:
        for name in brand.names:
            owners.setdefault(_fold(name), set()).add(brand.id)
        for line in brand.product_lines:
            lines.setdefault(_fold(line), set()).add(brand.id)
    out = []
    for brand in brands:
        override: Mapping[str, bool] = {n.casefold(): flag for n, flag in brand.ambiguous_names}
        for name in brand.names:
            tokens = _fold(name)
            reasons = name_reasons(tokens, very_common)
            reasons += [f"product_line:{b}" for b in sorted(lines.get(tokens, set()) - {brand.id})]
            reasons += [f"shared:{b}" for b in sorted(owners.get(tokens, set()) - {brand.id})]
            flag = override.get(name.casefold())
            if flag is None and not reasons:
                continue
            out.append(NameMark(brand.id, name, tuple(reasons),
                                bool(reasons) if flag is None else flag, flag is not None))
    return out
