"""Which stored listings a catalogue change can reach (``counterfeit-vision rescan``).

Each stored listing was scored under a scoring state whose detail keeps, per brand, a
digest of its catalogue entry and of its index entries (vectors, files, head). Against the
detector in use now, a listing is re-scored when

- the change is not a catalogue change (other models, options or fusion): all of them;
- it names or shows a brand whose catalogue entry or index entries changed, were added or
  were removed (its stored candidates), which covers a threshold change of the brand it
  was attributed to and a removed brand it was attributed to;
- the title matcher of the new catalogue finds something else in its title or in the text
  read in its photos than the stored findings (a new brand's name, alias or misspelling);
- one of its photos has a keypoint-verified logo hit (the keypoint search's ratio test runs
  across every brand's logo files, so any change of them can move its inliers), or is
  near the new or changed references: a FAISS search of the photo's
  stored window features against the changed brands' vectors finds one at cosine
  ``NEAR_COSINE`` or more, or a changed brand's few-shot head scores one of its windows at
  least as high as the photo's weakest stored logo hit (or the matcher's ``min_score``).

A photo no change reaches keeps its image hits under the new index version (``carry``);
a re-scored listing goes through the detector as in a scan, so only its reached photos
are decoded and looked at again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from counterfeit_vision.store.codec import decode_boxes, decode_features, decode_listing
from counterfeit_vision.store.db import EvidenceStore, StoredListing
from counterfeit_vision.store.listings import text_signature
from counterfeit_vision.store.versions import ScoringState

if TYPE_CHECKING:
    from counterfeit_vision.detector import Detector

__all__ = ["HEAD_FLOOR", "NEAR_COSINE", "DeltaPlan", "plan_rescan"]

# a window this close to a new reference vector may match it (unrelated photos' windows sit well below;
# the margin covers the stored features' int8 rounding and window compaction)
NEAR_COSINE = 0.6
HEAD_FLOOR = 0.01  # the image matcher's min_score: a head scoring below it adds no hit


@dataclass
class DeltaPlan:
    """What a re-scan does: listings to re-score (by ``seq``) and photos whose hits carry over."""

    listings: list[StoredListing]
    rescore: set[int] = field(default_factory=set)
    carry: dict[str, list[str]] = field(default_factory=dict)   # old index state -> photo SHA-256s
    reasons: dict[str, int] = field(default_factory=dict)        # why listings were re-scored, counted

    def mark(self, seq: int, why: str) -> None:
        if seq not in self.rescore:
            self.rescore.add(seq)
            self.reasons[why] = self.reasons.get(why, 0) + 1


def plan_rescan(store: EvidenceStore, detector: "Detector", state: ScoringState) -> DeltaPlan:
    """The listings of ``store`` that ``detector`` (under ``state``) may score differently."""
    plan = DeltaPlan(list(store.listings()))
    by_state: dict[str, list[StoredListing]] = {}
    for s in plan.listings:
        by_state.setdefault(s.state, []).append(s)
    for old_key, group in by_state.items():
        if old_key == state.key:
            continue
        old = store.state(old_key)
        if old is None or not _same_apart_from_catalogue(old, state.detail):
            for s in group:
                plan.mark(s.seq, "models or options changed")
            continue
        _plan_group(plan, store, detector, old, state.detail, group)
    return plan


def _same_apart_from_catalogue(old: dict, new: dict) -> bool:
    def rest(d: dict) -> dict:
        model = {k: v for k, v in d.get("model", {}).items() if k != "index_vectors"}
        return {"model": model, "options": d.get("options"), "seller_history": d.get("seller_history")}
    return rest(old) == rest(new)


def _changed(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {b for b in set(old) | set(new) if old.get(b) != new.get(b)}


def _plan_group(plan: DeltaPlan, store: EvidenceStore, detector: "Detector", old: dict, new: dict,
                group: list[StoredListing]) -> None:
    changed = _changed(old["catalog"], new["catalog"]) | _changed(old["index"], new["index"])
    for s in group:
        if changed & set(s.candidates) or (s.result.brand in changed):
            plan.mark(s.seq, "names or shows a changed brand")
    _plan_text(plan, store, detector, group)
    if old["index_state"] != new["index_state"]:
        visual = {b for b in _changed(old["index"], new["index"]) if b in new["index"]}
        _plan_photos(plan, store, detector, old["index_state"], visual, _changed(old["index"], new["index"]), group)


def _plan_text(plan: DeltaPlan, store: EvidenceStore, detector: "Detector", group: list[StoredListing]) -> None:
    """Listings whose title or photo text the new catalogue's title matcher reads differently."""
    listings = [decode_listing(s.listing) for s in group]
    titles = detector.title_matcher.match_batch([x.title for x in listings], categories=[x.category for x in listings])
    boxes = store.photo_boxes(sha for s in group for sha in s.photos if sha)
    for s, found in zip(group, titles):
        reads = [[(b, detector.title_matcher.match(b.text)) for b in decode_boxes(boxes[sha], 0)]
                 for sha in s.photos if sha in boxes]
        if text_signature(found, reads) != s.text_sig:
            plan.mark(s.seq, "title or photo text reads differently")


def _plan_photos(plan: DeltaPlan, store: EvidenceStore, detector: "Detector", old_state: str, visual: set[str],
                 changed: set[str], group: Sequence[StoredListing]) -> None:
    """Photos the index change can reach; the others' hits carry over to the new index."""
    shas = sorted({sha for s in group for sha in s.photos if sha})
    hits = store.photo_hits(shas, old_state)
    # the logo keypoint search runs a ratio test across every brand's logo files: when they change, a
    # verified hit of any brand may gain or lose inliers, so photos with one are looked at again
    logos_changed = bool(changed)
    reached = {sha for sha, text in hits.items()
               if any(h["brand_id"] in changed or (logos_changed and h["verified"]) for h in json.loads(text))}
    reached |= _near(store, detector, visual, [sha for sha in hits if sha not in reached], hits)
    plan.carry.setdefault(old_state, []).extend(sha for sha in hits if sha not in reached)
    for s in group:
        photos = [sha for sha in s.photos if sha]
        if any(sha in reached for sha in photos):
            plan.mark(s.seq, "a photo the change can reach")
        elif any(sha not in hits for sha in photos):  # not stored (something failed on it): cannot be ruled out
            plan.mark(s.seq, "a photo without stored evidence")


def _near(store: EvidenceStore, detector: "Detector", brands: set[str], shas: list[str],
          hits: dict[str, str]) -> set[str]:
    """Photos with a window near the vectors of ``brands`` in the new index, or scored by their heads."""
    import faiss

    from counterfeit_vision.image.matcher import head_score

    if not brands or not shas or detector.image_matcher is None:
        return set()
    index = detector.image_matcher.index
    ids = np.array([i for i, e in index.entries.items() if e.brand_id in brands], np.int64)
    vectors = index.reconstruct(ids).astype(np.float32) if len(ids) else np.zeros((0, index.dim), np.float32)
    search = faiss.IndexFlatIP(index.dim)
    search.add(np.ascontiguousarray(vectors))
    heads = index.heads
    cols = [heads.brand_ids.index(b) for b in sorted(brands) if heads is not None and b in heads.brand_ids]
    out = set()
    stored = store.features(shas)
    for sha, (dim, blob) in stored.items():
        X = decode_features(blob, dim)
        if len(ids) and float(search.search(X, 1)[0].max()) >= NEAR_COSINE:
            out.add(sha)
            continue
        if cols:
            weakest = min((h["score"] for h in json.loads(hits[sha]) if h["kind"] == "logo"), default=0.0)
            if float(np.max(head_score(heads.scores(X)[:, cols]))) >= min(HEAD_FLOOR, weakest):
                out.add(sha)
    return out | (set(shas) - set(stored))  # photos stored without features cannot be ruled out
