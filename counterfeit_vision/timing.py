"""Where a scan spends its time: seconds per pipeline stage, for benchmarks and logs.

The stages are named once here so that a benchmark's table and the code agree::

    with stage("ocr_detect"):
        boxes = detector(photo)

Times add up per process (a Ray worker keeps its own); ``snapshot()`` returns a
copy and ``reset()`` starts over. Nested stages are not subtracted from their
parent, so instrument leaves, not wrappers. The cost is two ``perf_counter``
calls per stage entered, a few hundred nanoseconds.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["STAGES", "reset", "snapshot", "stage"]

# in pipeline order; benchmarks print them in this order
STAGES: tuple[str, ...] = (
    "decode",          # reading and decoding listing photos
    "embed",           # embedding the photo and its region windows, brand heads
    "keypoints",       # SIFT of listing photos and keypoint verification of logos
    "photo_reuse",     # candidates and copy tests against official photos
    "ocr_detect",      # finding text in photos (and the text-presence pass)
    "ocr_recognise",   # reading the text found
    "titles",          # brand names in titles and in text read from photos
    "fusion",          # cues, fusion model, decision and evidence
)

_lock = threading.Lock()
_seconds: dict[str, float] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent in the ``with`` block to stage ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        took = time.perf_counter() - start
        with _lock:
            _seconds[name] = _seconds.get(name, 0.0) + took


def snapshot() -> dict[str, float]:
    """Seconds per stage since the last ``reset()``."""
    with _lock:
        return dict(_seconds)


def reset() -> None:
    """Forget the times measured so far."""
    with _lock:
        _seconds.clear()
