"""Personal identifiers (contact, payment account) as keyed hashes, and store-name stems.

A contact or payment identifier links storefronts run by one operator, but it is personal
data: it is hashed the moment a listing is read and only the hash is kept, compared,
stored or written. The hash is HMAC-SHA256 over the normalised value (lower case, no
spaces, dots, dashes or brackets, so ``+86 138-0013 8000`` and ``+8613800138000`` agree),
keyed by the environment variable ``COUNTERFEIT_VISION_ID_KEY`` when set. Without it a
built-in key is used: hashes then still never show the value, but anyone with this library
could test a guessed value against them, so deployments set their own key (and keep it:
hashes made with another key do not match).

Store-name stems: ``LuxWatch-01``, ``luxwatch store`` and ``LUXWATCH_2`` share the stem
``luxwatch`` (lower case, letters only, digits and generic shop words removed).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

__all__ = ["ID_KEY_ENV", "GENERIC_SHOP_WORDS", "hash_identifier", "store_stem"]

ID_KEY_ENV = "COUNTERFEIT_VISION_ID_KEY"
_DEFAULT_KEY = b"counterfeit-vision/seller-identifiers/v1"
HASH_PREFIX = "hmac:"
# words every other shop name has: they say nothing about who runs the shop
GENERIC_SHOP_WORDS = frozenset({
    "store", "shop", "shoppe", "official", "outlet", "mall", "boutique", "online", "trading", "trade", "co", "ltd",
    "inc", "llc", "the", "and", "of", "global", "world", "best", "top", "deals", "deal", "sale", "sales", "discount",
    "flagship", "direct", "factory", "wholesale", "market", "goods", "house", "center", "centre",
})
# shop words that are glued to a name ("luxwatchstore"); stripped from its end
GLUED_SUFFIXES = ("official", "boutique", "outlet", "online", "store", "shop", "mall")
MIN_STEM_CHARS = 5  # shorter stems ("abc", "mei") are shared by unrelated shops by chance


def _key() -> bytes:
    env = os.environ.get(ID_KEY_ENV)
    return env.encode("utf-8") if env else _DEFAULT_KEY


def _normalise(value: str) -> str:
    return re.sub(r"[\s.\-_()\[\]/]+", "", value.strip().lower())


def hash_identifier(value: str, *, kind: str) -> str:
    """``hmac:<32 hex>``: the keyed hash of ``value`` (normalised) for identifiers of ``kind``.

    ``kind`` (contact, payment_id) is hashed in, so a phone number used as a payment id
    does not match itself used as a contact by accident of format.
    """
    msg = f"{kind}\x00{_normalise(value)}".encode("utf-8")
    return HASH_PREFIX + hmac.new(_key(), msg, hashlib.sha256).hexdigest()[:32]


def store_stem(name: str | None) -> str | None:
    """The distinctive part of a store name (see the module doc), or None when too short to link on."""
    if not name:
        return None
    words = re.findall(r"[^\W\d_]+", name.lower())
    # split camel-case and glued generic words: "luxdealsstore" -> "luxdeals"
    kept = []
    for w in words:
        for g in GLUED_SUFFIXES:
            if len(w) > len(g) + 2 and w.endswith(g):
                w = w[: -len(g)]
                break
        if w not in GENERIC_SHOP_WORDS:
            kept.append(w)
    stem = "".join(kept)
    return stem if len(stem) >= MIN_STEM_CHARS else None
