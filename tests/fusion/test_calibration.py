"""ECE, reliability bins, Clopper-Pearson bounds and the takedown threshold guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterfeit_vision.fusion.calibration import (
    clopper_pearson_interval,
    clopper_pearson_lower,
    expected_calibration_error,
    min_takedowns_for,
    precision_recall_at,
    reliability_bins,
    review_threshold,
    select_takedown_threshold,
)


def test_ece_small_for_calibrated_and_large_for_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01
    overconfident = np.clip(0.5 + 1.8 * (p - 0.5), 0, 1)
    assert expected_calibration_error(y, overconfident) > 0.1


def test_reliability_bins_count_everything_and_match_rates():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    bins = reliability_bins(y, p, n_bins=10)
    assert sum(b.count for b in bins) == p.size
    for b in bins:
        assert b.lo <= b.mean_confidence <= b.hi
        assert abs(b.fraction_positive - b.mean_confidence) < 0.05
    # p == 1 lands in the last bin, quantile bins hold about equal counts
    assert reliability_bins([1], [1.0], n_bins=4)[-1].count == 1
    q = reliability_bins(y, p, n_bins=5, strategy="quantile")
    assert max(b.count for b in q) - min(b.count for b in q) <= 2


def test_inputs_are_checked():
    with pytest.raises(ValueError):
        expected_calibration_error([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        expected_calibration_error([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError):
        expected_calibration_error([0, 1], [0.1])


def test_clopper_pearson_known_values():
    # all correct: the one-sided lower bound is (1 - confidence) ** (1 / n)
    for n in (1, 10, 299, 1000):
        assert clopper_pearson_lower(n, n, 0.95) == pytest.approx(0.05 ** (1 / n), rel=1e-9)
    assert clopper_pearson_lower(0, 10) == 0.0
    assert min_takedowns_for(0.99, 0.95) == 299
    assert clopper_pearson_lower(299, 299) >= 0.99 > clopper_pearson_lower(298, 298)
    lo, hi = clopper_pearson_interval(5, 10, 0.95)
    assert lo == pytest.approx(0.187086, abs=1e-5) and hi == pytest.approx(0.812914, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 500), st.floats(0.5, 0.999))
def test_clopper_pearson_lower_is_below_the_estimate_and_monotone(n, conf):
    k = n // 2 + 1
    lb = clopper_pearson_lower(k, n, conf)
    assert 0 <= lb <= k / n
    assert clopper_pearson_lower(min(n, k + 1), n, conf) >= lb - 1e-12


def _population(rng, n):
    """Scores and labels where precision above a threshold t is 1 - 0.02 * (1 - t) / 0.5 for t >= 0.5."""
    s = rng.uniform(0, 1, n)
    p_fake = np.where(s >= 0.5, 1 - 0.04 * (1 - s), 0.3 * s)
    return s, (rng.uniform(0, 1, n) < p_fake).astype(int)


def test_chosen_threshold_meets_precision_target_on_fresh_held_out_data():
    rng = np.random.default_rng(7)
    met = chosen = 0
    trials = 20
    for _ in range(trials):
        s, y = _population(rng, 20_000)
        c = select_takedown_threshold(y, s, target=0.99, confidence=0.95)
        s2, y2 = _population(rng, 200_000)
        if c.threshold is None:  # allowed (rare here): an unlucky error near the top ends the walk
            continue
        chosen += 1
        assert c.precision_lower >= 0.99 and c.selected >= 299
        met += precision_recall_at(y2, s2, c.threshold)["precision"] >= 0.99
    assert chosen >= trials - 3
    # the guarantee holds with probability >= 0.95 per trial; allow for that
    assert met >= chosen - 3


def test_no_threshold_when_labels_cannot_prove_the_target():
    rng = np.random.default_rng(3)
    s = rng.uniform(0, 1, 200)  # far fewer takedowns than the 299 the bound needs
    y = (s > 0.3).astype(int)
    c = select_takedown_threshold(y, s, target=0.99, confidence=0.95)
    assert c.threshold is None and c.selected == 0 and c.n_min == 299
    # a lower target is provable on the same labels
    assert select_takedown_threshold(y, s, target=0.9, confidence=0.9).threshold is not None


def test_fixed_sequence_stops_at_first_failure():
    # 400 clean at the top, then a block of errors, then more clean: the walk must stop before the errors
    # (a "lowest threshold that passes" rule would pick 0.5: 20600 of 20650 above it are fakes)
    s = np.concatenate([np.linspace(0.99, 0.9, 600), np.linspace(0.89, 0.8, 50), np.linspace(0.79, 0.5, 20000)])
    y = np.concatenate([np.ones(600), np.zeros(50), np.ones(20000)]).astype(int)
    assert clopper_pearson_lower(20600, 20650) >= 0.99
    c = select_takedown_threshold(y, s, target=0.99, confidence=0.95)
    assert c.threshold is not None and c.threshold >= 0.88
    assert c.selected - c.true_positives <= 2


def test_review_threshold_keeps_recall():
    rng = np.random.default_rng(5)
    s, y = _population(rng, 5000)
    t = review_threshold(y, s, recall=0.98)
    assert precision_recall_at(y, s, t)["recall"] >= 0.98
    assert review_threshold(y, s, recall=0.98, ceiling=0.2) == 0.2
    assert math.isclose(review_threshold([0, 0], [0.1, 0.2]), 0.5)
