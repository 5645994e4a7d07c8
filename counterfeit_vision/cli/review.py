"""``counterfeit-vision review``: the review app, and ``review token add`` for its reviewers' tokens.

Registered by :mod:`counterfeit_vision.cli.main` through :func:`register`; the app is
:mod:`counterfeit_vision.review.app` (FastAPI, imported only when the server starts).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from counterfeit_vision.errors import UsageError
from counterfeit_vision.feedback.store import DEFAULT_DB

__all__ = ["register", "cmd_review", "cmd_token_add"]

_BRAND_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers) -> None:
    """Add ``review`` (serve the queue) and ``review token add`` to ``subparsers``."""
    rv = subparsers.add_parser(
        "review", help="serve the review queue to brands' reviewers (FastAPI + uvicorn)",
        description="Serve the listings referred to brands (review first, by confidence) with their evidence; "
                    "verdicts go to the feedback store. Every page and API call needs a reviewer token "
                    "(review token add). Binds 127.0.0.1 unless --host says otherwise.")
    rv.add_argument("--results", type=Path, metavar="RESULTS", help="a scan's results JSONL")
    rv.add_argument("--feedback-db", default=DEFAULT_DB, metavar="FILE", help=f"SQLite store (default {DEFAULT_DB})")
    rv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    rv.add_argument("--port", type=int, default=8000)
    rv.add_argument("--catalog", type=Path, metavar="DIR", help="brand names and reference images on the cards")
    rv.add_argument("--listings", type=Path, metavar="LISTINGS.jsonl", help="the scanned listings (titles, photos)")
    rv.add_argument("--image-root", action="append", metavar="DIR",
                    help="show listing photos only from inside DIR (repeatable)")
    rv.set_defaults(func=cmd_review)
    sub = rv.add_subparsers(dest="review_cmd")
    tok = sub.add_parser("token", help="reviewer tokens").add_subparsers(dest="token_cmd", required=True)
    add = tok.add_parser("add", help="create a reviewer token for one brand (printed once; only its hash is kept)")
    add.add_argument("--brand", required=True, metavar="ID")
    add.add_argument("--feedback-db", default=DEFAULT_DB, metavar="FILE")
    add.add_argument("--label", help="who the token is for (shown in the store, never secret)")
    add.set_defaults(func=cmd_token_add)


def cmd_token_add(args: argparse.Namespace) -> int:
    """Print a new token for ``--brand`` once."""
    from counterfeit_vision.feedback.store import FeedbackStore

    if not _BRAND_ID.match(args.brand):
        raise UsageError(f"--brand {args.brand!r} is not a brand id (lowercase letters, digits, - and _)")
    reviewer, token = FeedbackStore(args.feedback_db).add_reviewer(args.brand, args.label)
    print(f"reviewer {reviewer.id} of brand {reviewer.brand_id}; token (shown only now, keep it secret):",
          file=sys.stderr)
    print(token)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the queue until interrupted."""
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.feedback.store import FeedbackStore
    from counterfeit_vision.review.app import create_app, serve
    from counterfeit_vision.review.queue import ReviewQueue

    if args.results is None:
        raise UsageError("review needs --results RESULTS (or: review token add --brand ID)")
    if not args.results.is_file():
        raise UsageError(f"results file not found: {args.results}")
    try:
        queue = ReviewQueue.from_files(args.results, FeedbackStore(args.feedback_db), args.listings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    catalog = load_catalog(args.catalog) if args.catalog else None
    hosts = ["127.0.0.1", "localhost", args.host]
    if args.host not in LOOPBACK:
        print(f"warning: serving plain HTTP on {args.host}: put it behind a TLS proxy", file=sys.stderr)
        if args.host in ("0.0.0.0", "::"):
            hosts = ["*"]
    serve(create_app(queue, catalog=catalog, image_roots=args.image_root or (), allowed_hosts=hosts),
          args.host, args.port)
    return 0
