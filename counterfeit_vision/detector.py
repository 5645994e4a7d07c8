"""The detector: listing in, decision with evidence out.

Flow per batch of listings::

    photos -load-> PhotoBrandFinder: ImageMatcher (logos, official photos) --+
                                     OcrReader -> TitleMatcher (names) ------+-> BrandCues per brand -> fusion -> Result
    title -------> TitleMatcher ---------------------------------------------+
    price, seller -----------------------------------------------------------+

Everything heavy is batched across the listings of a batch; a failure in one
listing (bad photo, odd text) becomes a note or an error on that row only.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from PIL import Image

from counterfeit_vision import timing
from counterfeit_vision._version import __version__
from counterfeit_vision.catalog import Catalog, load_catalog
from counterfeit_vision.fusion.evidence import ListingInputs, build_cues, build_evidence
from counterfeit_vision.fusion.handset import (
    MIN_ATTRIBUTION,
    FusionModel,
    HandSetFusion,
    cap_misspelling_alone,
    decide,
)
from counterfeit_vision.image.decode import ImageError, content_sha256, inside_roots, load_rgb
from counterfeit_vision.image.phash import phash_hex
from counterfeit_vision.image.photo_brands import PhotoBrandFinder, PhotoBrands
from counterfeit_vision.listing import Listing, Photo, Result
from counterfeit_vision.sellers.storefront import check_storefront

if TYPE_CHECKING:  # heavy modules, imported when a detector is built
    from counterfeit_vision.image.matcher import ImageMatcher
    from counterfeit_vision.ocr.base import OcrReader
    from counterfeit_vision.store import EvidenceStore, PhotoEvidence
    from counterfeit_vision.titles import TitleMatcher

__all__ = ["Detector", "DetectorConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorConfig:
    """Behaviour switches; merge changes with ``dataclasses.replace``."""

    embedder: str = "auto"          # auto | clip | efficientnet_lite0 | efficientnet_lite1 | efficientnet_lite2
    device: str = "auto"            # auto | cpu | cuda
    precision: str = "auto"         # auto | fp32 | bf16 | fp16
    use_images: bool = True
    use_ocr: bool = True
    ocr: str = "rapidocr"           # rapidocr | easyocr | none (see counterfeit_vision.ocr)
    # research: the exhaustive pipeline every speed-up is measured against (OCR reads every photo at
    # full canvas; every stage runs on every photo); the default skips work that cannot change a decision
    thorough: bool = False
    image_draft_size: int = 512     # JPEG decode at reduced size: photos are tiled and resized anyway
    index_factory: str = "auto"     # exact until the index is large, then approximate (see index.py)
    # the per-photo pixel budget: longer side after decoding, whatever the file claims (a 39000x1 PNG
    # included). Matching works at <= 1280 px; at 1600 x 1067 x 3 bytes a group of 16 photos is ~80 MB
    image_max_side: int = 1600
    # when set, listing photos are read only from inside these folders (listings from untrusted sources)
    image_roots: tuple[str, ...] = ()
    # the evidence store folder (counterfeit_vision.store): photos seen in any earlier scan are looked up
    store: str | None = None


@dataclass
class Detector:
    """Scores listings against a brand catalogue.

    Build it with :meth:`from_catalog`; then :meth:`score` one listing at posting
    time or :meth:`score_batch` many in a re-scan.
    """

    catalog: Catalog
    title_matcher: "TitleMatcher"
    fusion: FusionModel = field(default_factory=HandSetFusion)
    image_matcher: "ImageMatcher | None" = None
    ocr: "OcrReader | None" = None
    seller_history: Callable[[str], float] | None = None
    seller_cue: Callable[[str, str], float] | None = None  # (seller, brand) -> cue; sellers.risk.SellerCues
    model_info: dict = field(default_factory=dict)
    image_draft_size: int | None = None  # decode JPEGs at reduced size (DetectorConfig.image_draft_size)
    image_max_side: int | None = None    # DetectorConfig.image_max_side
    image_roots: tuple[Path, ...] = ()   # DetectorConfig.image_roots, resolved
    # what was seen in each photo, by the SHA-256 of its bytes: a photo shown again (the same picture in
    # other listings, common in a catalogue re-scan) is looked at once. Findings only, no pixels (~kB each)
    photo_memo_size: int = 4096
    # the evidence store (DetectorConfig.store) and the photos in it under this detector's index
    store: "EvidenceStore | None" = None
    photo_evidence: "PhotoEvidence | None" = None
    # digest -> (shape, findings, pHash)
    _photo_memo: "OrderedDict[str, tuple[PhotoShape, PhotoBrands, str | None]]" = field(
        default_factory=OrderedDict, init=False, repr=False)

    @classmethod
    def from_catalog(cls, catalog: str | Path | Catalog, *, index_dir: str | Path | None = None,
                     config: DetectorConfig = DetectorConfig(), fusion: FusionModel | None = None,
                     rebuild_index: bool = False) -> "Detector":
        """Load the catalogue, the title engine, and (if enabled) the embedder, index and OCR.

        The index at ``index_dir`` is loaded; it must have been built by the configured
        embedder from this catalogue's brands (else ``IndexMismatchError`` naming the command
        that fixes it). When ``index_dir`` holds no index (or ``rebuild_index``), the index
        is built from the catalogue and saved there; without ``index_dir`` it is built in memory.
        """
        from counterfeit_vision.titles import TitleMatcher

        catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        det = cls(catalog=catalog, title_matcher=TitleMatcher.from_catalog(catalog),
                  fusion=fusion or HandSetFusion(), image_draft_size=config.image_draft_size,
                  image_max_side=config.image_max_side, photo_memo_size=0 if config.thorough else 4096,
                  image_roots=tuple(Path(r).resolve() for r in config.image_roots))
        info = {"library_version": __version__, "title_engine": getattr(det.title_matcher, "version", "titles")}
        if config.use_images:
            det.image_matcher, image_info = _image_matcher(catalog, index_dir, config, rebuild_index)
            info.update(image_info)
        if config.use_ocr and config.ocr != "none":
            from counterfeit_vision.ocr import create_ocr

            det.ocr = create_ocr(config.ocr, device=config.device, gated=not config.thorough)
            info["ocr"] = det.ocr.info
        info["fusion"] = det.fusion.version
        det.model_info = info
        if config.store is not None:
            from counterfeit_vision.store import attach_store

            attach_store(det, config)
        return det

    # ------------------------------------------------------------------ scoring
    def score(self, listing: Listing | dict) -> Result:
        """Score one listing."""
        return self.score_batch([listing])[0]

    def score_batch(self, listings: Sequence[Listing | dict], *, batch_size: int = 16) -> list[Result]:
        """Score many listings, batching the models across them; one result per input, in order."""
        return [r for r, _ in self.score_detailed(listings, batch_size=batch_size)]

    def score_detailed(self, listings: Sequence[Listing | dict], *,
                       batch_size: int = 16) -> list[tuple[Result, ListingInputs | None]]:
        """:meth:`score_batch` with what the models said about each listing (None for a row that could
        not be read): the evidence store keeps the brands it names and shows."""
        out: list[tuple[Result, ListingInputs | None]] = []
        for start in range(0, len(listings), batch_size):
            chunk = [_as_listing(x, start + i) for i, x in enumerate(listings[start:start + batch_size])]
            out.extend(self._score_chunk(chunk))
        return out

    def forget_photos(self) -> None:
        """Drop what was remembered about photos seen so far (``photo_memo_size``): the next listings'
        photos are looked at afresh (benchmarks measure cold photos this way)."""
        self._photo_memo.clear()

    def iter_scores(self, listings: Iterable[Listing | dict], *, batch_size: int = 16) -> Iterable[Result]:
        """Stream results for an iterable of listings (a whole catalogue re-scan)."""
        chunk: list = []
        for item in listings:
            chunk.append(item)
            if len(chunk) == batch_size:
                yield from self.score_batch(chunk, batch_size=batch_size)
                chunk = []
        if chunk:
            yield from self.score_batch(chunk, batch_size=batch_size)

    def _score_chunk(self, chunk: list[Listing | Result]) -> list[tuple[Result, ListingInputs | None]]:
        # inputs are kept by position, never by id: two rows may carry the same id
        slots = [i for i, x in enumerate(chunk) if isinstance(x, Listing)]
        inputs = [ListingInputs(chunk[i]) for i in slots]
        self._read_photos(inputs)
        with timing.stage("titles"):
            titles = self.title_matcher.match_batch([inp.listing.title for inp in inputs],
                                                    categories=[inp.listing.category for inp in inputs])
        out: list[tuple[Result, ListingInputs | None]] = [(x, None) for x in chunk]  # failed rows stay in place
        spelt = _spelt_right(inputs, titles)
        for i, inp, found in zip(slots, inputs, titles):
            inp.title_findings = found
            inp.storefront_findings = check_storefront(self.title_matcher, self.catalog, inp.listing.seller_id,
                                                       inp.listing.seller_name, inp.listing.url)
            inp.title_marks = [(f.brand_id, *mark) for f in found
                               for mark in self.title_matcher.misuse_marks(inp.listing.title, f)]
            inp.spelt_right = spelt.get(inp.listing.seller_id, frozenset()) if inp.listing.seller_id else frozenset()
            with timing.stage("fusion"):
                out[i] = (self._fuse(inp), inp)
        return out

    def _read_photos(self, inputs: list[ListingInputs]) -> None:
        """Decode, look at and release the photos of the batch, ``PHOTO_GROUP`` at a time.

        Logo hits, reused photos and brand names read are found for a group of photos at
        once (across listings); the pixels are then dropped, keeping only each photo's size
        and decode info for the evidence boxes. So a batch holds one group of decoded photos,
        not all of them (320 photos of 40 MP held 4 GB)."""
        if self.image_matcher is None and self.ocr is None:  # photos not looked at: listed, not hashed
            for inp in inputs:
                inp.identities.update((n, Photo(path)) for n, path in enumerate(inp.listing.images))
            return
        from counterfeit_vision.image.matcher import PHOTO_GROUP

        finder = PhotoBrandFinder(self.image_matcher, self.title_matcher, self.ocr)
        todo = [(inp, n, path) for inp in inputs for n, path in enumerate(inp.listing.images)]
        found: dict[int, dict[int, PhotoBrands]] = {id(inp): {} for inp in inputs}  # listing -> photo number -> seen
        for start in range(0, len(todo), PHOTO_GROUP):
            group: list[tuple[ListingInputs, int, str | None, int]] = []  # (listing, photo no., digest, image no.)
            pending: set[str] = set()                            # digests looked at in this group
            repeats: list[tuple[ListingInputs, int, str, int]] = []  # photos of the group seen before
            for inp, n, path in todo[start:start + PHOTO_GROUP]:
                if self.image_roots and not self._allowed(path):
                    # the same words whether or not the file exists: the scan must not probe the disk for strangers
                    inp.notes.append(f"image {n} ignored: outside the allowed image folders")
                    inp.identities[n] = Photo(path)
                    continue
                sha = content_sha256(path)
                digest = self._memo_key(sha)
                if digest is not None and digest not in self._photo_memo and digest not in pending:
                    self._recall(sha, digest)  # seen in an earlier scan: from the evidence store
                if digest in self._photo_memo or digest in pending:  # seen before (or in this group): once
                    repeats.append((inp, len(inp.photos), digest, n))
                    inp.photos.append((path, None))  # its shape comes with the findings
                    inp.identities[n] = Photo(path, sha)  # its pHash comes with the findings too
                    continue
                img = self._decode(inp, path)
                # the photo's identity travels with the result: seller networks are built from results files
                inp.identities[n] = Photo(path, sha if img is not None else None,
                                          phash_hex(img) if img is not None else None)
                if img is not None:
                    group.append((inp, len(inp.photos), digest, n))  # evidence numbers the listing's readable photos
                    inp.photos.append((path, img))
                    if digest is not None:
                        pending.add(digest)
            images = [inp.photos[k][1] for inp, k, _, _ in group]
            features: list | None = [] if self.photo_evidence is not None and self.image_matcher is not None else None
            known = ([self.photo_evidence.boxes(inp.identities[n].sha256, k) for inp, k, _, n in group]
                     if self.photo_evidence is not None else None)  # text read in an earlier scan
            seen = (finder.find(images, numbers=[k for _, k, _, _ in group], features=features, known_reads=known)
                    if group else [])
            for (inp, k, digest, n), photo in zip(group, seen):
                found[id(inp)][k] = photo
                inp.notes.extend(photo.notes)
                path, img = inp.photos[k]
                inp.photos[k] = (path, PhotoShape.of(img))  # the pixels go with this group
                if digest is not None:
                    self._photo_memo[digest] = (inp.photos[k][1], photo, inp.identities[n].phash)
            self._remember(group, seen, features)
            for inp, k, digest, n in repeats:  # the findings of the same picture, numbered for this listing
                self._photo_memo.move_to_end(digest)
                shape, photo, phash = self._photo_memo[digest]
                found[id(inp)][k] = photo.numbered(k)
                inp.identities[n] = replace(inp.identities[n], phash=phash)
                inp.notes.extend(photo.notes)
                inp.photos[k] = (inp.photos[k][0], shape)
            self._settle_memo(pending)
        for inp in inputs:  # inp.seen[k] is what was seen in inp.photos[k]
            inp.seen.extend(found[id(inp)][k] for k in sorted(found[id(inp)]))

    def _recall(self, sha: str, digest: str) -> None:
        if self.photo_evidence is None:
            return
        stored = self.photo_evidence.lookup(sha)
        if stored is not None:
            self._photo_memo[digest] = stored

    def _remember(self, group: list, seen: list[PhotoBrands], features: list | None) -> None:
        """The photos just looked at go to the evidence store, one transaction per group."""
        if self.photo_evidence is None or not group:
            return
        from counterfeit_vision.store import SeenPhoto

        self.photo_evidence.remember([
            SeenPhoto(inp.identities[n].sha256, inp.photos[k][1], photo, inp.identities[n].phash,
                      features[j] if features else None)
            for j, ((inp, k, digest, n), photo) in enumerate(zip(group, seen)) if digest is not None])

    def _memo_key(self, digest: str | None) -> str | None:
        if not self.photo_memo_size:
            return None
        # findings hold for the index they were made with: a brand added to it makes them stale
        state = self.image_matcher.index.content_state if self.image_matcher is not None else ""
        return f"{digest}:{state}" if digest else None

    def _settle_memo(self, digests: set[str]) -> None:
        """After a group: a photo that failed somewhere (OCR crashed on it) is forgotten, to be looked at
        again next time (its repeats within the group shared its notes); the memo is trimmed to its size."""
        for key in digests:
            if key in self._photo_memo and self._photo_memo[key][1].notes:
                del self._photo_memo[key]
        while len(self._photo_memo) > self.photo_memo_size:
            self._photo_memo.popitem(last=False)

    def _decode(self, inp: ListingInputs, path: str) -> Image.Image | None:
        try:
            with timing.stage("decode"):
                return load_rgb(path, draft_size=self.image_draft_size, max_side=self.image_max_side)
        except ImageError as exc:
            inp.notes.append(f"image ignored: {exc}")
            return None

    def _allowed(self, path: str) -> bool:
        return inside_roots(path, self.image_roots)

    def _fuse(self, inp: ListingInputs) -> Result:
        listing = inp.listing
        try:
            points = self.image_matcher.index.operating_points if self.image_matcher is not None else None
            per_brand = build_cues(inp, self.catalog, self.seller_history, self.seller_cue, points=points)
            scored = [(self.fusion.score(c), c) for c in per_brand]
            scored.sort(key=lambda oc: (-oc[0].confidence, -oc[1].attribution, oc[1].brand_id))
        except Exception as exc:  # a bug on one row is reported on that row, the scan goes on
            log.exception("scoring %s failed", listing.id)
            return Result.failed(listing.id, f"internal error while scoring: {exc}", self.model_info)
        notes = (*listing.notes, *inp.notes)
        photos = tuple(inp.identities[n] for n in sorted(inp.identities))
        if not scored or scored[0][1].attribution < MIN_ATTRIBUTION:
            return Result(listing.id, "pass", 0.0, None, {}, (), None, self.model_info, notes, photos,
                          seller_id=listing.seller_id)
        out, cues = scored[0]
        brand = self.catalog[cues.brand_id]
        # a learned fusion model may carry per-brand thresholds chosen for a precision target
        decision = cap_misspelling_alone(
            decide(out.confidence, self.fusion.thresholds_for(brand.id) or brand.thresholds), cues)
        signals = {**cues.features(), "attribution": cues.attribution,
                   **{f"contribution.{k}": v for k, v in out.contributions.items()}}
        evidence = build_evidence(inp, cues, brand)
        return Result(listing.id, decision.decision, out.confidence, brand.id, signals, evidence, None,
                      self.model_info, notes, photos, seller_id=listing.seller_id)


def _spelt_right(inputs: list[ListingInputs], titles: list[list]) -> dict[str, frozenset[str]]:
    """Per seller of the batch, the brands it names spelt right (a clean mention) in some title:
    its misspelling of such a brand elsewhere is its own typo."""
    out: dict[str, set[str]] = {}
    for inp, found in zip(inputs, titles):
        seller = inp.listing.seller_id
        if seller:
            out.setdefault(seller, set()).update(f.brand_id for f in found if f.verdict == "mention" and not f.reasons)
    return {s: frozenset(b) for s, b in out.items()}


@dataclass(frozen=True)
class PhotoShape:
    """What the evidence needs of a photo once it has been looked at: its size and decode info
    (``info["original_size"]`` maps boxes back to the file's pixels), not its pixels."""

    size: tuple[int, int]
    info: dict

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @classmethod
    def of(cls, img) -> "PhotoShape":
        return img if isinstance(img, PhotoShape) else cls(tuple(img.size), dict(img.info))


def _as_listing(item: Listing | dict, n: int) -> Listing | Result:
    if isinstance(item, Listing):
        return item
    try:
        return Listing.from_dict(item, row_number=n + 1)
    except ValueError as exc:
        return Result.failed(f"row-{n + 1}", str(exc))


def _image_matcher(catalog: Catalog, index_dir, config: DetectorConfig, rebuild: bool):
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.image.matcher import LOGO_NPROBE, ImageMatcher

    embedder = create_embedder(_embedder_name(config, index_dir, rebuild), device=config.device,
                               precision=config.precision)
    index = _load_or_build_index(catalog, embedder, index_dir, config, rebuild)
    info = {"embedder": embedder.info.name, "embedder_weights": embedder.info.weights_digest,
            "index_vectors": len(index), "device": str(embedder.device), "precision": str(embedder.dtype)}
    # references are read from the catalogue in use, wherever the index was built from
    # thorough: the logo keypoint search probes twice the lists (see image.matcher.LOGO_NPROBE)
    return ImageMatcher(embedder, index, reference_root=catalog.root,
                        keypoint_nprobe=16 if config.thorough else LOGO_NPROBE), info


def _embedder_name(config: DetectorConfig, index_dir, rebuild: bool) -> str:
    """``auto`` with a saved index means the offline embedder that built it: found in its manifest,
    without importing open_clip to look for CLIP weights (seconds of start-up)."""
    from counterfeit_vision.embedders import EMBEDDER_NAMES
    from counterfeit_vision.index.reference import MANIFEST_NAME, IndexMismatchError, read_manifest

    if config.embedder != "auto" or index_dir is None or rebuild or not (Path(index_dir) / MANIFEST_NAME).is_file():
        return config.embedder
    try:
        built_by = read_manifest(index_dir)["embedder"]["name"]
    except (IndexMismatchError, KeyError, TypeError):
        return "auto"  # the full load reports what is wrong with it
    return built_by if built_by in EMBEDDER_NAMES and built_by not in ("auto", "clip") else "auto"


def _load_or_build_index(catalog: Catalog, embedder, index_dir, config: DetectorConfig, rebuild: bool):
    """The index at ``index_dir`` checked against the embedder and the catalogue; built (and saved
    there) only when there is none or a rebuild is asked for. An existing index is never replaced
    behind the caller's back: a mismatch is an error that names the fix."""
    from counterfeit_vision.index.onboarding import build_index, save_index
    from counterfeit_vision.index.reference import MANIFEST_NAME, ReferenceIndex

    if index_dir is not None and not rebuild and (Path(index_dir) / MANIFEST_NAME).exists():
        index = ReferenceIndex.load(index_dir, expect=embedder.info)  # IndexMismatchError names `index build`
        _check_in_step(catalog, index, index_dir)
        return index
    log.info("building the reference index with %s", embedder.info.name)
    index = build_index(catalog, embedder, factory=config.index_factory)
    if index_dir is not None:
        save_index(index, index_dir, embedder, reference_root=catalog.root)
        log.warning("built the reference index of %d brands with %s and saved it to %s", len(index.brands()),
                    embedder.info.name, index_dir)
    return index


def _check_in_step(catalog: Catalog, index, index_dir) -> None:
    from counterfeit_vision.index.reference import IndexMismatchError

    wanted = {b.id for b in catalog if b.logos or b.references}
    missing, extra = sorted(wanted - index.brands()), sorted(index.brands() - set(catalog.brands))
    if not missing and not extra:
        return
    fixes = [f"`counterfeit-vision brand add {catalog.root or 'CATALOG'}/{b} --catalog {catalog.root or 'CATALOG'} "
             f"--index {index_dir}`" for b in missing[:3]]
    fixes += [f"`counterfeit-vision brand remove {b} --index {index_dir}`" for b in extra[:3]]
    raise IndexMismatchError(
        f"index at {index_dir} is out of step with catalogue {catalog.root}: "
        + (f"brands missing from the index: {', '.join(missing)}; " if missing else "")
        + (f"brands not in the catalogue: {', '.join(extra)}; " if extra else "")
        + f"fix with {' and '.join(fixes)}, or rebuild with "
        f"`counterfeit-vision index build --catalog {catalog.root or 'CATALOG'} --index {index_dir}`")
