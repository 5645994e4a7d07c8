"""Store names and shop URLs checked for brand misuse, as the title engine checks titles.

A store name (``seller_name``) and the host and first path segment of a shop URL (``url``)
are turned into text (``velora-factory-outlet.shop`` -> ``velora factory outlet shop``) and
read by the title matcher. A finding of this kind is evidence ``store_name``:

- the matcher's own ``misuse`` (spaced letters ``v-e-l-o-r-a``, leetspeak ``ve1ora``,
  indicator words, evasive aliases): its score, its reasons;
- the brand's name used as a trade name (a ``mention``, or the name glued into a domain
  label: ``veloraoutlet``) by a seller the brand has not authorised: ``brand_in_store_name``,
  0.5; with an outlet word (outlet, factory, wholesale, discount, cheap): 0.7, plus
  ``outlet_store_name``.

An authorised seller may use the brand's name: no finding. In fusion the finding raises the
brand's ``title_misuse`` cue (never its attribution: a store name alone does not say the
listing is a product of the brand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["StorefrontFinding", "check_storefront", "storefront_texts"]

OUTLET_WORDS = frozenset({"outlet", "outlets", "factory", "wholesale", "discount", "cheap", "clearance"})
TRADE_NAME_SCORE = 0.5
OUTLET_NAME_SCORE = 0.7


@dataclass(frozen=True)
class StorefrontFinding:
    """A brand misused in a store name or shop URL."""

    brand_id: str
    source: str            # seller_name | url
    text: str              # the text read (the store name, or the URL's host and path as words)
    score: float
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")


def _url_text(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = (parts.hostname or "").removeprefix("www.")
    labels = host.split(".")[:-1] if "." in host else [host]  # the top-level domain says nothing
    first = next((seg for seg in parts.path.split("/") if seg), "")
    return " ".join(x for x in (*labels, first) if x)


def storefront_texts(seller_name: str | None, url: str | None) -> list[tuple[str, str]]:
    """(source, text) pairs to read: the store name as written, the URL as words."""
    out = []
    if seller_name:
        out.append(("seller_name", seller_name))
    if url:
        text = _url_text(url)
        if text:
            out.append(("url", text))
    return out


def _glued_brands(text: str, names: dict[str, str]) -> set[str]:
    """Brands whose name (letters only, >= 4) is glued inside a word: ``veloraoutlet``."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    return {bid for name, bid in names.items() for w in words if len(name) >= 4 and name in w and w != name}


def check_storefront(matcher, catalog, seller_id: str | None, seller_name: str | None, url: str | None
                     ) -> list[StorefrontFinding]:
    """Findings for the listing's store name and shop URL, strongest per (brand, source)."""
    texts = storefront_texts(seller_name, url)
    if not texts:
        return []
    names = {re.sub(r"[^a-z]", "", b.name.lower()): b.id for b in catalog}
    best: dict[tuple[str, str], StorefrontFinding] = {}
    for source, text in texts:
        outlet = any(w in text.lower() for w in OUTLET_WORDS)  # glued too: veloraoutlet
        found = {f.brand_id: f for f in matcher.match(text)}
        for bid in set(found) | _glued_brands(text, names):
            if bid not in catalog or (seller_id and seller_id in catalog[bid].authorized_sellers):
                continue
            f = found.get(bid)
            if f is not None and f.verdict == "misuse":
                cand = StorefrontFinding(bid, source, text, float(f.score), tuple(f.reasons))
            else:
                reasons = ("brand_in_store_name", "outlet_store_name") if outlet else ("brand_in_store_name",)
                cand = StorefrontFinding(bid, source, text, OUTLET_NAME_SCORE if outlet else TRADE_NAME_SCORE,
                                         reasons)
            key = (bid, source)
            if key not in best or cand.score > best[key].score:
                best[key] = cand
    return [best[k] for k in sorted(best)]
