"""Catalogue warnings: what a catalogue may hold but a person should know about.

Real trademark registers hold the same word for several owners, and big catalogues hold the
same brand entered twice; neither stops a catalogue from loading (``load_catalog``), both are
reported by ``brand check`` from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from counterfeit_vision.catalog import Brand

__all__ = ["CatalogWarning", "catalog_warnings", "name_key"]


@dataclass(frozen=True)
class CatalogWarning:
    """Something a catalogue may hold but a person should know: two brands claiming one
    name (``shared_name``), or one brand apparently entered twice (``near_duplicate``)."""

    kind: str
    brands: tuple[str, ...]
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


_NAME_KEY = re.compile(r"[\W_]+")


def name_key(name: str) -> str:
    """A name with case, spacing and punctuation removed: "Red Tape" and "Redtape" agree."""
    return _NAME_KEY.sub("", name.casefold())


def catalog_warnings(catalog: Iterable[Brand]) -> list[CatalogWarning]:
    """Shared names and near-duplicate brands of a catalogue.

    Real trademark registers hold the same word for different owners in different classes of
    goods, so a shared name loads; the title engine attributes it by category, product line
    and context, or reports it as ambiguous between the brands. A pair of brands whose main
    names agree once spacing and punctuation are dropped (Red Tape / Redtape) is more likely
    one brand entered twice.
    """
    owners: dict[str, dict[str, str]] = {}
    mains: dict[str, dict[str, str]] = {}
    for brand in catalog:
        for name in brand.names:
            owners.setdefault(name.casefold(), {}).setdefault(brand.id, name)
        mains.setdefault(name_key(brand.name), {})[brand.id] = brand.name
    out = []
    for key, claim in owners.items():
        if len(claim) > 1:
            ids = tuple(sorted(claim))
            out.append(CatalogWarning("shared_name", ids, next(iter(claim.values())),
                                      f"name {next(iter(claim.values()))!r} is claimed by brands {', '.join(ids)}"))
    for key, claim in mains.items():
        spellings = set(claim.values())
        if key and len(claim) > 1 and len({s.casefold() for s in spellings}) > 1:
            ids = tuple(sorted(claim))
            out.append(CatalogWarning("near_duplicate", ids, claim[ids[0]],
                                      f"brands {', '.join(f'{i} ({claim[i]!r})' for i in ids)} have the same name "
                                      "but for spacing or punctuation: one brand entered twice?"))
    return sorted(out, key=lambda w: (w.kind, w.brands, w.name))
