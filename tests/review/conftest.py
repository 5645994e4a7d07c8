"""A real review server (uvicorn in a thread) over synthetic results of two brands, and its store."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from report.test_report_browser import driver  # noqa: F401  (the report tests' headless Chromium)

from counterfeit_vision.feedback.store import FeedbackStore
from counterfeit_vision.listing import Result

VELORA_IDS = ["v-review-1", "v-review-2", "v-takedown-1", "v-takedown-2"]
KORVEX_IDS = ["k-review-1", "k-takedown-1"]


def _row(listing_id: str, brand: str, decision: str, confidence: float, photo: Path) -> dict:
    return {
        "id": listing_id, "decision": decision, "confidence": confidence, "brand": brand,
        "signals": {"title_brand": 1.0, "title_misuse": 0.9, "logo": 0.8, "price_below_floor": 0.5,
                    "attribution": 1.0, "contribution.title_misuse": round(confidence * 0.7, 4)},
        "evidence": [
            {"kind": "title", "brand_id": brand, "score": 0.9, "detail": "title misuse: indicator",
             "text": brand.capitalize(), "span": [0, len(brand)], "reasons": ["indicator"]},
            {"kind": "logo", "brand_id": brand, "score": 0.8, "detail": "logo-like region",
             "image": str(photo), "image_index": 0, "box": [40, 30, 160, 110], "similarity": 0.71},
        ],
        "error": None, "model": {"embedder": "efficientnet_lite0", "fusion": "hand-set-v1"}, "notes": [],
        "photos": [],
    }


@dataclass
class Served:
    url: str
    store: FeedbackStore
    velora_token: str
    korvex_token: str
    results: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app) -> tuple[str, object, threading.Thread]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def served(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from counterfeit_vision.review.app import create_app
    from counterfeit_vision.review.queue import ReviewQueue

    photo = tmp_path / "photo.jpg"
    img = Image.new("RGB", (200, 140), (230, 230, 225))
    ImageDraw.Draw(img).rectangle((40, 30, 160, 110), fill=(120, 20, 40))
    img.save(photo, "JPEG")
    rows = [_row("v-takedown-1", "velora", "takedown", 0.97, photo),
            _row("v-review-1", "velora", "review", 0.62, photo),
            _row("k-review-1", "korvex", "review", 0.7, photo),
            _row("v-review-2", "velora", "review", 0.55, photo),
            _row("v-takedown-2", "velora", "takedown", 0.88, photo),
            _row("k-takedown-1", "korvex", "takedown", 0.93, photo),
            _row("v-pass", "velora", "pass", 0.1, photo)]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    _, velora = store.add_reviewer("velora", "velora legal")
    _, korvex = store.add_reviewer("korvex")
    queue = ReviewQueue([Result.from_dict(r) for r in rows], store)
    url, server, thread = start_server(create_app(queue))
    try:
        yield Served(url, store, velora, korvex, results)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
