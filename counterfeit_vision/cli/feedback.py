"""CLI: ``counterfeit-vision feedback import FILE`` and ``counterfeit-vision train``.

Registered by :mod:`counterfeit_vision.cli.main` through :func:`register`.

``train`` refits fusion, calibration and thresholds from the feedback store, compares
the new model with the active one (or the hand-set formula when none is active) on
the same held-out test fold, saves the new model under ``--out/<version>/`` and
points ``--out/ACTIVE`` at it only

- with ``--activate``, or
- when it is better: it meets the bar (takedown precision >= --target-precision and
  ECE <= 0.05 on the test fold) and either the active model does not, or the new
  model's takedown recall is higher by at least ``--min-improvement`` (default 0.01).

Exit codes: 0 done; 1 an import with bad rows (nothing imported unless --skip-bad),
or not enough labels to train; 2 bad arguments or unreadable files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from counterfeit_vision.feedback.store import DEFAULT_DB

__all__ = ["register", "DEFAULT_DB"]


def register(subparsers) -> None:
    """Add the ``feedback import|stats`` and ``train`` subcommands to ``subparsers``."""
    fb = subparsers.add_parser("feedback", help="the feedback store: import outcomes, show counts")
    fsub = fb.add_subparsers(dest="feedback_cmd", required=True)
    imp = fsub.add_parser("import", help="import brand review and appeal outcomes (JSONL or CSV)",
                          description=_IMPORT_HELP)
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--feedback-db", default=DEFAULT_DB, metavar="FILE", help=f"SQLite store (default {DEFAULT_DB})")
    imp.add_argument("--skip-bad", action="store_true",
                     help="import the good rows and report the bad ones (default: all or nothing)")
    imp.set_defaults(func=cmd_feedback_import)
    st = fsub.add_parser("stats", help="counts of decisions, outcomes and labels")
    st.add_argument("--feedback-db", default=DEFAULT_DB, metavar="FILE")
    st.set_defaults(func=cmd_feedback_stats)

    tr = subparsers.add_parser("train", help="refit the learned fusion from the feedback store",
                               description="\n\n".join(__doc__.split("\n\n")[2:4]),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    tr.add_argument("--feedback-db", default=DEFAULT_DB, metavar="FILE")
    tr.add_argument("--out", required=True, metavar="DIR", help="models root: DIR/<version>/ and DIR/ACTIVE")
    tr.add_argument("--activate", action="store_true", help="make the new model active whatever the comparison says")
    tr.add_argument("--min-improvement", type=float, default=0.01, metavar="X",
                    help="takedown recall gain needed to replace the active model without --activate (default 0.01)")
    tr.add_argument("--target-precision", type=float, default=0.99, help="takedown precision target (default 0.99)")
    tr.add_argument("--confidence", type=float, default=0.95,
                    help="statistical confidence of the Clopper-Pearson bound (default 0.95)")
    tr.add_argument("--review-recall", type=float, default=0.98,
                    help="share of held-out fakes that must reach review or takedown (sets the review threshold)")
    tr.add_argument("--trusted-accuracy", type=float, default=0.9, metavar="A",
                    help="labels from reporters whose accuracy (see `feedback stats`) is at least A weigh "
                         "--trusted-weight in the fit (default 0.9)")
    tr.add_argument("--trusted-weight", type=float, default=2.0, metavar="W",
                    help="sample weight of a trusted reporter's label (default 2; 1 turns weighting off)")
    tr.add_argument("--json", metavar="FILE", help="also write the before/after report as JSON")
    tr.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=cmd_train)


_IMPORT_HELP = """Rows: {"listing_id", "brand_id", "outcome": confirmed_fake | rejected | appeal_upheld |
appeal_denied, "source": brand | seller, "reviewer", "decided_at", "seller_id", "reporter"}; only listing_id and outcome
are required. Importing the same file twice changes nothing. See counterfeit_vision/feedback.py."""


def cmd_feedback_import(args) -> int:
    from counterfeit_vision.feedback.store import FeedbackStore, OutcomeError

    if not Path(args.file).is_file():
        print(f"error: outcome file not found: {args.file}", file=sys.stderr)
        return 2
    store = FeedbackStore(args.feedback_db)
    try:
        report = store.import_outcomes(args.file, skip_bad=args.skip_bad)
    except OutcomeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


def cmd_feedback_stats(args) -> int:
    from counterfeit_vision.feedback.reporters import reporter_accuracy
    from counterfeit_vision.feedback.store import FeedbackStore

    store = FeedbackStore(args.feedback_db)
    stats = store.stats() | {"reporters": [r.to_dict() for r in reporter_accuracy(store).values()]}
    print(json.dumps(stats, indent=2))
    return 0


def cmd_train(args) -> int:
    from counterfeit_vision.feedback.store import FeedbackStore
    from counterfeit_vision.fusion.fitting import train_from_store

    if not Path(args.feedback_db).is_file():
        print(f"error: feedback store not found: {args.feedback_db}", file=sys.stderr)
        return 2
    store = FeedbackStore(args.feedback_db)
    try:
        report = train_from_store(store, args.out, activate=args.activate, min_improvement=args.min_improvement,
                                  target_precision=args.target_precision, confidence=args.confidence,
                                  review_recall=args.review_recall, progress=not args.quiet,
                                  trusted_accuracy=args.trusted_accuracy, trusted_weight=args.trusted_weight)
    except ValueError as exc:
        print(f"error: cannot train: {exc}", file=sys.stderr)
        return 1
    print(report.format())
    if args.json:
        from counterfeit_vision._atomic import write_json_atomic

        write_json_atomic(args.json, _jsonable({"version": report.version, "model_dir": str(report.model_dir),
                                                "activated": report.activated, "reason": report.reason,
                                                "before": report.before, "after": report.after,
                                                "thresholds": report.thresholds}))
    return 0


def _jsonable(obj):
    import math

    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj
