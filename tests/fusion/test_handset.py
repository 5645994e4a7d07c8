"""Hand-set fusion: bounded, monotone in misuse evidence, authorised sellers never raise the score."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from counterfeit_vision.catalog import Thresholds
from counterfeit_vision.fusion.cues import BrandCues, price_cue
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, HandSetFusion, decide

unit = st.floats(0.0, 1.0, allow_nan=False)
ILLEGITIMACY = ("title_misuse", "ocr_misuse", "hidden_brand", "price_below_floor", "seller_history", "photo")


@st.composite
def cues(draw):
    return BrandCues("b", title_brand=draw(unit), ocr_brand=draw(unit), logo=draw(unit), photo=draw(unit),
                     title_misuse=draw(unit), ocr_misuse=draw(unit), hidden_brand=draw(unit),
                     price_below_floor=draw(unit), seller_history=draw(unit), authorized_seller=draw(st.booleans()))


FUSION = HandSetFusion()


@given(cues())
def test_confidence_in_unit_interval(c):
    assert 0.0 <= FUSION.score(c).confidence <= 1.0


@given(cues(), st.sampled_from(ILLEGITIMACY), unit)
def test_more_misuse_evidence_never_lowers_confidence(c, name, extra):
    stronger = replace(c, **{name: max(getattr(c, name), extra)})
    assert FUSION.score(stronger).confidence >= FUSION.score(c).confidence - 1e-12


@given(cues())
def test_authorised_seller_never_raises_confidence(c):
    assert (FUSION.score(replace(c, authorized_seller=True)).confidence
            <= FUSION.score(replace(c, authorized_seller=False)).confidence + 1e-12)


def test_authorised_seller_with_perfect_photo_match_is_not_taken_down():
    c = BrandCues("b", title_brand=1.0, logo=1.0, photo=1.0, authorized_seller=True)
    assert decide(FUSION.score(c).confidence).decision == "pass"


def test_no_brand_invoked_passes_even_with_low_price():
    c = BrandCues("b", logo=MIN_ATTRIBUTION / 2, price_below_floor=1.0, hidden_brand=0.1)
    assert FUSION.score(c).confidence == 0.0


def test_plain_mention_at_normal_price_passes_and_replica_is_taken_down():
    assert decide(FUSION.score(BrandCues("b", title_brand=1.0)).confidence).decision == "pass"
    fake = BrandCues("b", title_brand=1.0, title_misuse=0.9, price_below_floor=0.8)
    out = FUSION.score(fake)
    assert decide(out.confidence).decision == "takedown"
    assert set(out.contributions) == {"title_misuse", "price_below_floor"}
    assert abs(sum(out.contributions.values()) - out.confidence) < 1e-9


def test_price_cue_and_thresholds():
    assert price_cue(500, 400) == 0.0 and price_cue(None, 400) == 0.0
    assert price_cue(0, 400) == 1.0 and 0 < price_cue(300, 400) < 1
    t = Thresholds(takedown=0.9, review=0.2)
    assert [decide(x, t).decision for x in (0.95, 0.5, 0.1)] == ["takedown", "review", "pass"]
