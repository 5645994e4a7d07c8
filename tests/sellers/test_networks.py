"""Seller networks: which shared photos, identifiers and names link sellers, and the stock-photo guard."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from counterfeit_vision.sellers.identifiers import hash_identifier, store_stem
from counterfeit_vision.sellers.networks import NetworkConfig, build_networks, network_id
from tests.sellers.conftest import flip, rec

H = "c3a5f0e1d2b49687"
SHA = "ab" * 32


def _pairs(nets):
    return {(lk.a, lk.b, lk.kind) for lk in nets.links}


def test_identical_bytes_link_two_sellers_with_the_evidence():
    nets = build_networks([rec("l1", "s1", photos=((SHA, H),)), rec("l2", "s2", photos=((SHA, None),)),
                           rec("l3", "s3", photos=(("cd" * 32, "0f0f0f0f0f0f0f0f"),))])
    assert _pairs(nets) == {("s1", "s2", "photo")}
    assert "l1" in nets.links[0].evidence and "l2" in nets.links[0].evidence
    assert nets.network_of == {"s1": network_id(["s1", "s2"]), "s2": network_id(["s2", "s1"])}
    assert "s3" not in nets.network_of and nets.size("s3") == 1


def test_near_duplicate_phash_links_within_the_documented_distance_only():
    near = build_networks([rec("l1", "s1", photos=((None, H),)), rec("l2", "s2", photos=((None, flip(H, 6)),))])
    far = build_networks([rec("l1", "s1", photos=((None, H),)), rec("l2", "s2", photos=((None, flip(H, 7)),))])
    assert _pairs(near) == {("s1", "s2", "photo")} and far.links == []
    assert build_networks([rec("l1", "s1", photos=((None, H),)), rec("l2", "s2", photos=((None, flip(H, 7)),))],
                          NetworkConfig(phash_bits=8)).links


def test_stock_photos_unbranded_listings_and_official_photos_link_no_one():
    stock = [rec(f"l{i}", f"s{i}", photos=((SHA, H),)) for i in range(9)]  # 9 sellers > max_sellers 8
    assert build_networks(stock).links == []
    assert len(build_networks(stock[:8]).links) == 28  # 8 sellers: still a ring, every pair linked
    unbranded = [rec(f"l{i}", f"s{i}", brand=None, photos=((SHA, H),)) for i in range(3)]
    assert build_networks(unbranded).links == []
    official = [rec(f"l{i}", f"s{i}", photos=((SHA, H),), official_photos=frozenset({f"l{i}/0.jpg"}))
                for i in range(3)]
    assert build_networks(official).links == []


def test_shared_contact_payment_and_store_name_link_with_hashed_evidence():
    c = hash_identifier("+86 138 0013 8000", kind="contact")
    p = hash_identifier("6222 0000 1111", kind="payment_id")
    nets = build_networks([rec("l1", "a", contact_hash=c), rec("l2", "b", contact_hash=c, payment_hash=p),
                           rec("l3", "c", payment_hash=p), rec("l4", "d", seller_name="LuxWatch-01"),
                           rec("l5", "e", seller_name="luxwatch store"), rec("l6", "f", seller_name="Best Shop")])
    assert _pairs(nets) == {("a", "b", "contact"), ("b", "c", "payment"), ("d", "e", "store_name")}
    assert len(nets.members) == 2 and nets.members[network_id("abc")] == ("a", "b", "c")
    text = " ".join(lk.evidence for lk in nets.links)
    assert "13800138000" not in text and "6222" not in text and c in text


def test_store_stems_drop_digits_and_shop_words():
    assert store_stem("LuxWatch-01") == store_stem("LUXWATCH_2") == store_stem("LuxWatchStore") == "luxwatch"
    assert store_stem("Best Shop") is None and store_stem("ab12") is None and store_stem(None) is None


def test_identifier_hashes_are_keyed(monkeypatch):
    default = hash_identifier("a@b.example", kind="contact")
    monkeypatch.setenv("COUNTERFEIT_VISION_ID_KEY", "deployment-secret")
    keyed = hash_identifier("a@b.example", kind="contact")
    assert keyed != default and keyed.startswith("hmac:") and "a@b" not in keyed
    assert hash_identifier("a@b.example", kind="payment_id") != keyed


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_networks_are_deterministic_whatever_the_order(seed):
    rng = random.Random(seed)
    base = [f"{rng.getrandbits(64):016x}" for _ in range(4)]
    records = [rec(f"l{i}", f"s{rng.randrange(12)}", brand=rng.choice(["velora", None, "korvex"]),
                   photos=((rng.choice([SHA, None, "ee" * 32]), flip(rng.choice(base), rng.randrange(9))),),
                   seller_name=rng.choice([None, "LuxWatch 1", "luxwatch-2", "Other Place"]))
               for i in range(20)]
    first = build_networks(records)
    shuffled = records[:]
    rng.shuffle(shuffled)
    second = build_networks(shuffled)
    assert first.links == second.links and first.network_of == second.network_of
    assert first.members == second.members
    for nid, members in first.members.items():
        assert nid == network_id(members)


def test_a_shared_photo_links_only_when_a_listing_showing_it_was_flagged():
    passing = [rec(f"l{i}", f"s{i}", decision="pass", photos=((SHA, H),)) for i in range(3)]
    assert build_networks(passing).links == []
    one_flagged = [*passing[:2], rec("l2", "s2", decision="review", photos=((None, flip(H, 3)),))]
    assert _pairs(build_networks(one_flagged)) == {("s0", "s1", "photo"), ("s0", "s2", "photo"),
                                                   ("s1", "s2", "photo")}


def test_a_photo_is_stock_when_many_sellers_show_it_branded_or_not():
    branded = [rec(f"b{i}", f"b{i}", photos=((SHA, H),)) for i in range(3)]
    unbranded = [rec(f"u{i}", f"u{i}", brand=None, decision="pass", photos=((SHA, H),)) for i in range(6)]
    assert build_networks(branded + unbranded).links == []         # 9 sellers show it: stock
    assert len(build_networks(branded + unbranded[:5]).links) == 3  # 8: the 3 branded ones link
