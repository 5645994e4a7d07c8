"""Shared fixtures: a learned fusion fitted once on simulated feedback."""

from __future__ import annotations

import pytest

from counterfeit_vision.fusion.fitting import FeatureTable, fit_fusion
from training.fusion import simulate_feedback


@pytest.fixture(scope="session")
def sim_rows():
    return simulate_feedback(20000, seed=11, label_noise=0.002)


@pytest.fixture(scope="session")
def fitted(sim_rows):
    return fit_fusion(FeatureTable.from_rows(sim_rows))


@pytest.fixture(scope="session")
def model(fitted):
    return fitted.model
