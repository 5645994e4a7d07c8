"""Title normalisation: one comparable string per title, with a map back to the original.

A title goes through three views, all sharing token structure:

* ``plain``: case-folded, invisible characters removed, Unicode look-alikes,
  styled letters (mathematical, circled, squared) and accents reduced to ASCII.
  Every plain character remembers the index of the original character it came
  from, so a match in any view is reported as a span of the *original* title.
* ``joined``: the plain tokens joined by single spaces, padded with a space on
  both sides, so that a key padded the same way can only match whole tokens.
* ``visual``: ``joined`` with leetspeak and ASCII look-alikes folded
  (``1/l/|/! -> i``, ``0 -> o``, ``@ -> a``, ``b -> d`` ...). The fold is one
  character to one character, so visual offsets equal joined offsets.

Brand keys are built through the very same functions, so both sides agree.
Fullwidth Latin (typed on CJK keyboards) is folded without any flag: it is not
evasion by itself.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

__all__ = [
    "CONFUSABLE", "DIACRITIC", "LEET_CHARS", "STYLED", "NormalizedTitle", "Token",
    "is_cjk", "map_char", "normalize", "visual_fold",
]

log = logging.getLogger(__name__)

# Per-character flags kept in NormalizedTitle.flags.
CONFUSABLE = 1  # a letter of another script that looks Latin (Cyrillic a, Greek o)
STYLED = 2  # mathematical, circled, squared, small-capital letter styles
DIACRITIC = 4  # an accent or a Latin look-alike (dotless i) folded away

_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)
_STYLE_PREFIXES = (
    "MATHEMATICAL ", "CIRCLED ", "NEGATIVE CIRCLED ", "SQUARED ", "NEGATIVE SQUARED ",
    "PARENTHESIZED ", "REGIONAL INDICATOR SYMBOL ", "LATIN LETTER SMALL CAPITAL ",
    "DOUBLE-STRUCK ", "BLACK-LETTER ", "SCRIPT ",
)
_DIGIT_WORDS = {w: str(i) for i, w in enumerate(
    "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split())}
_NO_FOLD_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "HALFWIDTH")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# A token is a run of CJK characters, or a run of other word characters in
# which leet symbols may stand *between* letters (Ch@nel, N!ke) or lead (@didas).
_CJK_CLASS = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE = re.compile(
    rf"[{_CJK_CLASS}]+|[@$]?[^\W_{_CJK_CLASS}]+(?:[@$!|€*][^\W_{_CJK_CLASS}]+)*"
)
_SPLIT = re.compile(f"({_TOKEN_RE.pattern})").split
# On a lower-cased ASCII string ``[^\W_]`` is exactly ``[a-z0-9]``: the same tokens, faster.
_SPLIT_ASCII = re.compile(r"([@$]?[a-z0-9]+(?:[@$!|*][a-z0-9]+)*)").split
# Leetspeak and ASCII look-alikes. One character to one character so offsets hold.
_VISUAL_SRC = {
    "l": "i", "1": "i", "|": "i", "!": "i", "0": "o", "3": "e", "4": "a", "@": "a",
    "$": "s", "5": "s", "7": "t", "b": "d", "8": "d", "9": "g", "€": "e",
}
_VISUAL = str.maketrans(_VISUAL_SRC)
_VISUAL_BYTES = bytes.maketrans(
    "".join(k for k in _VISUAL_SRC if k.isascii()).encode("ascii"),
    "".join(v for k, v in _VISUAL_SRC.items() if k.isascii()).encode("ascii"))
# Digits and symbols standing in for letters; the other folds are letter look-alikes.
LEET_CHARS = frozenset("1|!034@$5789€")


def visual_fold(text: str) -> str:
    """Fold leetspeak and ASCII look-alikes (``N1ke -> nike``, ``Guccl -> gucci``)."""
    return text.translate(_VISUAL)


def is_cjk(text: str) -> bool:
    """True when ``text`` holds a CJK, kana or hangul character (no word spaces)."""
    return _CJK_RE.search(text) is not None


@lru_cache(maxsize=1)
def _confusable_map() -> dict[str, str]:
    """Map non-ASCII letters to the ASCII letter they imitate (Unicode confusables).

    Built from the Unicode confusables table shipped by ``confusable_homoglyphs``;
    without that package only NFKC and the style rules apply.
    """
    try:
        raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - optional data
        log.warning("confusable_homoglyphs is not installed: homoglyph detection is limited")
        return {}
    table: dict[str, str] = {}
    for char, glyphs in json.loads(raw).items():
        for glyph in glyphs:
            other = glyph["c"]
            if char.isascii() and char.isalnum() and len(other) == 1 and not other.isascii():
                table.setdefault(other, char.lower())
            elif len(char) == 1 and not char.isascii() and other.isascii() and len(other) == 1 and other.isalnum():
                table.setdefault(char, other.lower())
    return table


def _styled(char: str, name: str) -> str | None:
    if not name.startswith(_STYLE_PREFIXES):
        return None
    last = name.rsplit(" ", 1)[-1]
    if len(last) == 1 and last.isalnum():
        return last.lower()
    return _DIGIT_WORDS.get(last)


@lru_cache(maxsize=65536)
def map_char(char: str) -> tuple[str, int]:
    """Fold one non-ASCII character to (replacement, flag); '' removes it."""
    if char in _INVISIBLE:
        return "", 0
    if char in "\u0130\u0131":  # Turkish dotted capital I / dotless i: ordinary spelling there
        return "i", 0
    cp = ord(char)
    category = unicodedata.category(char)
    if category == "Cf" or 0xFE00 <= cp <= 0xFE0F or 0xE0000 <= cp <= 0xE01EF:
        return "", 0
    if category == "Mn":
        return "", DIACRITIC
    if 0xFF01 <= cp <= 0xFF5E or cp == 0x3000:  # fullwidth: not evasion by itself
        return unicodedata.normalize("NFKC", char).casefold(), 0
    name = unicodedata.name(char, "")
    styled = _styled(char, name)
    if styled is not None:
        return styled, STYLED
    if name.startswith(_NO_FOLD_SCRIPTS):
        return char, 0
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
        return decomposed[0].lower(), DIACRITIC
    nfkc = unicodedata.normalize("NFKC", char)
    if nfkc != char and nfkc.isascii():
        return nfkc.casefold(), 0
    target = _confusable_map().get(char)
    if target is not None:
        return target, DIACRITIC if name.startswith("LATIN") else CONFUSABLE
    return nfkc.casefold(), 0


class Token(NamedTuple):
    """One token: its text in the plain view and its position in each view.

    A named tuple rather than a dataclass: cheap to build. The hot path reads
    the parallel lists of :class:`NormalizedTitle` instead and builds these
    only on demand.
    """

    text: str
    plain_start: int
    plain_end: int
    joined_start: int
    joined_end: int


class NormalizedTitle:
    """A title in comparable form, with offsets back to the original string.

    Token positions are kept as parallel lists (``texts``, ``pstarts``,
    ``pends``), computed in C by one regex split and a running sum; the joined
    starts and the :class:`Token` tuples are derived lazily, only for titles
    that need them.
    """

    __slots__ = ("original", "plain", "orig_index", "flags", "invisible", "texts", "pstarts", "pends",
                 "joined", "visual", "_jstarts", "_tokens", "_words", "indicators")

    def __init__(self, original: str, plain: str, orig_index: tuple[int, ...] | None,
                 flags: tuple[int, ...] | None, invisible: tuple[int, ...], texts: list[str],
                 pstarts: list[int], pends: list[int], joined: str, visual: str):
        self.original = original
        self.plain = plain
        self.orig_index = orig_index  # None: plain[i] came from original[i]
        self.flags = flags  # None: no flagged character at all
        self.invisible = invisible  # original indices of removed invisible characters
        self.texts = texts  # token texts (plain view)
        self.pstarts = pstarts  # plain start of each token
        self.pends = pends  # plain end of each token
        self.joined = joined
        self.visual = visual
        self._jstarts: list[int] | None = None
        self._tokens: tuple[Token, ...] | None = None
        self._words: frozenset[str] | None = None
        # Counterfeit indicators of the title, filled by rules.title_indicators on first use.
        self.indicators: tuple | None = None

    def __repr__(self) -> str:
        return f"NormalizedTitle({self.original!r}, tokens={self.texts!r})"

    @property
    def starts(self) -> list[int]:
        """joined_start of each token, for bisection."""
        if self._jstarts is None:
            self._jstarts = list(itertools.accumulate([len(t) + 1 for t in self.texts], initial=1))[:-1]
        return self._jstarts

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The tokens as :class:`Token` tuples (built on first use)."""
        if self._tokens is None:
            starts = self.starts
            self._tokens = tuple(map(Token._make, zip(
                self.texts, self.pstarts, self.pends, starts, [s + len(t) for s, t in zip(starts, self.texts)])))
        return self._tokens

    @property
    def words(self) -> frozenset[str]:
        """The set of token texts."""
        if self._words is None:
            self._words = frozenset(self.texts)
        return self._words

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Token indices [first, last) covering a joined-view span.

        Tokens hold no spaces and are joined by single spaces after one
        padding space, so a token's index is the number of spaces before it,
        less one: counted in C, no token list needed.
        """
        count = self.joined.count
        first = count(" ", 0, start + 1) - 1
        last = count(" ", 0, end) - 1
        return (first if first > 0 else 0), (last if last > 0 else 0) + 1

    def plain_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a plain-view span to the original title's span."""
        if self.orig_index is None:
            return start, end
        return self.orig_index[start], self.orig_index[end - 1] + 1

    def joined_to_plain(self, start: int, end: int) -> tuple[int, int]:
        """Map a joined-view span (inside or across tokens) to a plain-view span."""
        i, j = self.token_range(start, end)
        starts = self.starts
        return (self.pstarts[i] + (start - starts[i]), self.pstarts[j - 1] + (end - starts[j - 1]))

    def tokens_to_plain(self, first: int, last: int) -> tuple[int, int]:
        """Plain-view span of the whole tokens [first, last)."""
        return self.pstarts[first], self.pends[last - 1]

    def flags_in(self, plain_start: int, plain_end: int) -> int:
        """OR of the character flags inside a plain span."""
        if self.flags is None:
            return 0
        out = 0
        for flag in self.flags[plain_start:plain_end]:
            out |= flag
        return out

    def invisible_in(self, orig_start: int, orig_end: int) -> bool:
        """True when an invisible character was removed from inside the span."""
        i = bisect.bisect_right(self.invisible, orig_start)
        return i < len(self.invisible) and self.invisible[i] < orig_end


def _fold_unicode(text: str) -> tuple[str, tuple[int, ...], tuple[int, ...] | None, tuple[int, ...]]:
    chars: list[str] = []
    index: list[int] = []
    flags: list[int] = []
    invisible: list[int] = []
    for i, char in enumerate(text):
        if char.isascii():
            out, flag = char.lower(), 0
        else:
            out, flag = map_char(char)
            if not out:
                if flag and flags:  # a combining mark: flag the letter it sits on
                    flags[-1] |= flag
                elif not flag:
                    invisible.append(i)
                continue
        for piece in out:
            chars.append(piece)
            index.append(i)
            flags.append(flag)
    any_flag = any(flags)
    return "".join(chars), tuple(index), tuple(flags) if any_flag else None, tuple(invisible)


def normalize(text: str) -> NormalizedTitle:
    """Normalise a title (or OCR text) into its plain, joined and visual views."""
    if text.isascii():
        plain = text.lower()
        # One split gives separators and tokens alternately: [sep, tok, sep, ..., sep].
        parts = _SPLIT_ASCII(plain)
        texts = parts[1::2]
        joined = " " + " ".join(texts) + " "
        visual = joined.encode("ascii").translate(_VISUAL_BYTES).decode("ascii")
        index, flags, invisible = None, None, ()
    else:
        plain, index, flags, invisible = _fold_unicode(text)
        parts = _SPLIT(plain)
        texts = parts[1::2]
        joined = " " + " ".join(texts) + " "
        visual = joined.translate(_VISUAL)
    bounds = list(itertools.accumulate(map(len, parts)))
    return NormalizedTitle(text, plain, index, flags, invisible, texts, bounds[0:-1:2], bounds[1::2],
                           joined, visual)
