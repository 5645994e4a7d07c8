"""Seller risk is monotone in confirmed takedowns, decays with time, reaches networks; the seller cue
never raises an authorised seller's score and is stronger for repeat offenders of the same brand."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterfeit_vision.catalog import Thresholds, load_catalog
from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.sellers.networks import build_networks
from counterfeit_vision.sellers.risk import RiskConfig, SellerCues, Verdict, seller_risks
from tests.sellers.conftest import rec

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
SHA = "ab" * 32


def _fake(lid, seller, days_ago=10.0, brand="velora", outcome="confirmed_fake"):
    return Verdict(lid, brand, seller, True, outcome, NOW - timedelta(days=days_ago))


def _world(seed: int):
    rng = random.Random(seed)
    sellers = [f"s{i}" for i in range(8)]
    records = [rec(f"l{i}", rng.choice(sellers), decision=rng.choice(["takedown", "review", "pass"]),
                   brand=rng.choice(["velora", "korvex", None]), photos=((rng.choice([SHA, None]), None),),
                   seller_since=rng.choice([None, "2026-05-20", "2020-01-01"])) for i in range(15)]
    verdicts = [Verdict(f"v{i}", rng.choice(["velora", "korvex"]), rng.choice(sellers), rng.random() < 0.6,
                        rng.choice(["confirmed_fake", "appeal_denied", "rejected"]),
                        NOW - timedelta(days=rng.uniform(0, 900))) for i in range(rng.randrange(6))]
    return rng, sellers, records, verdicts


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0, 2000), st.sampled_from(["confirmed_fake", "appeal_denied"]))
def test_a_confirmed_takedown_never_lowers_anyones_risk(seed, days_ago, outcome):
    rng, sellers, records, verdicts = _world(seed)
    nets = build_networks(records)
    authorized = {"s0": {"velora"}}
    before = seller_risks(records, verdicts, networks=nets, authorized=authorized, now=NOW)
    target = rng.choice(sellers)
    after = seller_risks(records, [*verdicts, _fake("new", target, days_ago, outcome=outcome)], networks=nets,
                         authorized=authorized, now=NOW)
    for s, r in after.items():
        assert 0.0 <= r.risk <= 1.0
        assert r.risk >= (before[s].risk if s in before else 0.0) - 1e-12, s


def test_offences_decay_with_time_and_a_lost_appeal_weighs_more():
    fresh = seller_risks([], [_fake("a", "s", 1)], now=NOW)["s"].risk
    old = seller_risks([], [_fake("a", "s", 720)], now=NOW)["s"].risk
    denied = seller_risks([], [_fake("a", "s", 1, outcome="appeal_denied")], now=NOW)["s"].risk
    assert old < fresh < denied <= 1.0
    assert fresh == pytest.approx(1 - 2.718281828 ** -(0.5 ** (1 / 180)), abs=1e-6)


def test_a_network_with_a_confirmed_counterfeiter_raises_its_members_with_the_link_as_evidence():
    records = [rec("l1", "ring-a", photos=((SHA, None),)), rec("l2", "ring-b", photos=((SHA, None),)),
               rec("l3", "loner")]
    nets = build_networks(records)
    risks = seller_risks(records, [_fake("old", "ring-a")], networks=nets, now=NOW)
    alone = seller_risks(records, [_fake("old", "ring-a")], now=NOW)
    assert risks["ring-b"].risk > alone["ring-b"].risk and risks["loner"].risk == alone["loner"].risk
    why = " ".join(risks["ring-b"].reasons)
    assert "ring-a" in why and "photo" in why and nets.network_of["ring-b"] in why


def test_new_accounts_and_many_brands_raise_risk_and_authorisation_halves_it():
    young = seller_risks([rec("l", "s", seller_since="2026-05-25")], now=NOW)["s"].risk
    old = seller_risks([rec("l", "s", seller_since="2019-05-25")], now=NOW)["s"].risk
    assert young > old
    many = [rec(f"l{b}", "s", brand=b, decision="takedown") for b in ("a", "b", "c", "d", "e")]
    one = [rec(f"l{b}", "s", brand="a", decision="takedown") for b in ("a", "b", "c", "d", "e")]
    assert seller_risks(many, now=NOW)["s"].risk > seller_risks(one, now=NOW)["s"].risk
    plain = seller_risks(many, now=NOW)["s"].risk
    assert seller_risks(many, authorized={"s": {"a"}}, now=NOW)["s"].risk == pytest.approx(plain * 0.5)
    with pytest.raises(ValueError):
        RiskConfig(network_weight=1.5)


def test_repeat_offenders_get_the_brands_floor_within_its_window(sample_catalog_dir):
    catalog = load_catalog(sample_catalog_dir)
    risks = seller_risks([], [_fake("x", "s", 30)], now=NOW)
    cues = SellerCues.build(risks, [_fake("x", "s", 30)], catalog, now=NOW)
    assert cues("s", "velora") == 0.9 and cues("s", "korvex") == pytest.approx(risks["s"].risk)
    assert risks["s"].risk < 0.9
    stale = SellerCues.build(risks, [_fake("x", "s", 400)], catalog, now=NOW)
    assert stale("s", "velora") == pytest.approx(risks["s"].risk)
    velora = replace(catalog["velora"], thresholds=Thresholds(repeat_offender=0.5, repeat_window_days=500))
    custom = replace(catalog, brands={**catalog.brands, "velora": velora})
    assert SellerCues.build(risks, [_fake("x", "s", 400)], custom, now=NOW)("s", "velora") == \
        pytest.approx(max(0.5, risks["s"].risk))


def test_catalogue_thresholds_accept_the_repeat_offender_keys(tmp_path, sample_catalog_dir):
    import shutil

    from counterfeit_vision.catalog import CatalogError

    cat = tmp_path / "cat"
    shutil.copytree(sample_catalog_dir, cat)
    y = cat / "velora" / "brand.yaml"
    y.write_text(y.read_text().replace("  review: 0.4", "  review: 0.4\n  repeat_offender: 0.7\n"
                                       "  repeat_window_days: 90"))
    t = load_catalog(cat)["velora"].thresholds
    assert (t.repeat_offender, t.repeat_window_days) == (0.7, 90.0)
    y.write_text(y.read_text().replace("repeat_offender: 0.7", "repeat_offender: 1.7"))
    with pytest.raises(CatalogError):
        load_catalog(cat)


@pytest.fixture(scope="module")
def detector(sample_catalog_dir):
    return Detector.from_catalog(sample_catalog_dir, config=DetectorConfig(use_images=False, use_ocr=False))


@pytest.mark.parametrize("seller", ["velora-official", "shop-8812"])
def test_the_seller_cue_raises_only_unauthorised_sellers_listings(detector, seller):
    row = {"id": "x", "title": "Velora tote bag", "price": 300, "seller_id": seller, "category": "bags"}
    detector.seller_cue = None
    plain = detector.score(row)
    detector.seller_cue = SellerCues(risk={seller: 1.0}, repeat={seller: {"velora": 1.0}})
    try:
        cued = detector.score(row)
    finally:
        detector.seller_cue = None
    assert plain.brand == cued.brand == "velora" and cued.seller_id == seller
    if seller == "velora-official":
        assert cued.confidence == plain.confidence and cued.signals["seller_history"] == 0.0
    else:
        assert cued.confidence > plain.confidence and cued.signals["seller_history"] == 1.0


def test_the_scan_cue_from_the_store_sees_networks_and_the_latest_decision(tmp_path, sample_catalog_dir):
    from counterfeit_vision.feedback.store import FeedbackStore, write_outcomes
    from counterfeit_vision.listing import Photo, Result

    store = FeedbackStore(tmp_path / "fb.sqlite3")
    photo = (Photo("p.jpg", SHA, None),)
    store.record_decisions([Result("a", "takedown", 0.9, "velora", photos=photo, seller_id="ring-a"),
                            Result("b", "review", 0.5, "velora", photos=photo, seller_id="ring-b"),
                            Result("c", "review", 0.5, "velora", seller_id="loner")])
    store.record_decisions([Result("c", "pass", 0.0, "velora", seller_id="loner")])  # a re-scan
    assert store.decisions("b")[0]["photos"] == [photo[0].to_dict()]
    assert store.import_outcomes(write_outcomes(tmp_path / "o.jsonl", [
        {"listing_id": "a", "outcome": "confirmed_fake", "decided_at": "2026-05-01T00:00:00Z"}])).ok
    cues = SellerCues.from_store(store, load_catalog(sample_catalog_dir), now=NOW)
    assert cues("ring-a", "velora") == 0.9                      # repeat offender of velora
    assert cues("ring-b", "velora") > cues("loner", "velora")   # in a network with a confirmed counterfeiter
    assert cues("loner", "velora") == 0.0                       # its latest decision passed


TITLES = ("Velora tote bag", "Velora style tote replica AAA", "V-E-L-O-R-A handbag cheap", "Korvex and Velora bags")


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(TITLES), st.floats(0, 1), st.floats(0, 1), st.floats(0, 2000))
def test_an_authorised_sellers_listing_never_scores_higher_from_the_seller_cue(detector, title, risk, floor, price):
    row = {"id": "x", "title": title, "price": price, "seller_id": "velora-official", "category": "bags"}
    detector.seller_cue = None
    plain = detector.score(row)
    detector.seller_cue = SellerCues(risk={"velora-official": risk}, repeat={"velora-official": {"velora": floor}})
    try:
        cued = detector.score(row)
    finally:
        detector.seller_cue = None
    if cued.brand == "velora":
        assert cued.confidence <= plain.confidence + 1e-12
