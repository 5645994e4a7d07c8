"""Shared fixtures: paths to the sample data and to the optional real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_catalog_dir() -> Path:
    return REPO / "brand_catalog"


@pytest.fixture(scope="session")
def sample_listings() -> Path:
    return REPO / "samples" / "listings.jsonl"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $CV_SHARED_DATA); tests using it skip when absent."""
    path = Path(os.environ.get("CV_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path
