"""Write the notebooks from code, so they stay small and reviewable.

    python notebooks/make_notebooks.py        # rewrites notebooks/*.ipynb (outputs empty)

Every code cell only calls library functions (and matplotlib to show pictures);
tests/fusion/test_notebooks.py executes them on the sample data.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os, sys
from pathlib import Path
REPO = Path.cwd() if (Path.cwd() / "counterfeit_vision").is_dir() else Path.cwd().parent
sys.path.insert(0, str(REPO))   # the repository's training package
%matplotlib inline
import matplotlib.pyplot as plt"""

RETRAINING = [
    new_markdown_cell("""\
# Retraining the fusion from feedback

The detector records every decision (with its cue features, evidence and model
version) in the feedback store; brands confirm or reject referred listings and
sellers appeal. This notebook runs one round of that loop on **simulated feedback
for the sample catalogue** (`training.fusion.simulate_feedback`: a generative story
of fake and genuine listings, documented there; no real outcomes exist yet):

1. record simulated decisions in a fresh SQLite store and import the outcome file
   (twice: the second import changes nothing),
2. `train`: fit the monotone logistic model, calibrate it (isotonic), pick the
   takedown threshold with a Clopper-Pearson precision guarantee,
3. look at the reliability diagram and the precision/recall trade-off on the
   held-out test fold."""),
    new_code_cell(SETUP),
    new_code_cell("""\
import tempfile
from counterfeit_vision.catalog import load_catalog
from counterfeit_vision.feedback.store import FeedbackStore, write_outcomes
from training.fusion import simulate_feedback, simulated_results, simulated_outcomes

catalog = load_catalog(REPO / "brand_catalog")
work = Path(tempfile.mkdtemp(prefix="cv-retrain-"))
rows = simulate_feedback(20000, brands=list(catalog.brands), seed=0, label_noise=0.002)
results = simulated_results(rows)            # what the hand-set detector decided
store = FeedbackStore(work / "feedback.sqlite3")
store.record_decisions(results)
outcome_file = write_outcomes(work / "outcomes.jsonl", simulated_outcomes(rows, results))
print(store.import_outcomes(outcome_file).summary())
print(store.import_outcomes(outcome_file).summary())   # idempotent
store.stats()"""),
    new_markdown_cell("""\
A seller's confirmed fakes feed the `seller_history` cue: confirmed / (decided + 2)."""),
    new_code_cell("""\
{s: round(store.seller_history(s), 3) for s in ("fake-shop-1", "fake-shop-2", "reseller-1", "unknown-seller")}"""),
    new_markdown_cell("""\
## Train: compare with the active model (none yet: the hand-set formula) on the same held-out fold"""),
    new_code_cell("""\
from counterfeit_vision.fusion.fitting import train_from_store
report = train_from_store(store, work / "models")
print(report.format())"""),
    new_code_cell("""\
from counterfeit_vision.fusion.learned import load_fusion_model
model = load_fusion_model(work / "models")          # the ACTIVE one
print(model.version)
{"coefficients": model.manifest["coefficients"], "thresholds": model.global_thresholds,
 "libraries": model.manifest["libraries"]}"""),
    new_markdown_cell("""\
## Calibration and the precision/recall trade-off on the held-out test fold"""),
    new_code_cell("""\
from counterfeit_vision.fusion.calibration import plot_reliability, plot_precision_recall
from counterfeit_vision.fusion.handset import HandSetFusion
from counterfeit_vision.fusion.fitting import FeatureTable, split_folds, model_confidences

test = split_folds(FeatureTable.from_store(store))["test"]
p_learned = model_confidences(model, test)
p_hand = model_confidences(HandSetFusion(), test)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
plot_reliability(test.y, p_hand, ax=axes[0], label="hand-set")
plot_reliability(test.y, p_learned, ax=axes[1], label=model.version)
axes[0].set_title("hand-set formula"); axes[1].set_title("learned + isotonic");"""),
    new_code_cell("""\
t = model.thresholds_for(None)
ax = plot_precision_recall(test.y, p_learned, thresholds={"takedown": t.takedown, "review": t.review},
                           label=model.version, target=0.99)
plot_precision_recall(test.y, p_hand, ax=ax, label="hand-set")
ax.set_ylim(0.5, 1.005);"""),
    new_markdown_cell("""\
## The model keeps its promises

An authorised seller never raises the score, and a perfect photo match from an
authorised seller at a normal price is not taken down."""),
    new_code_cell("""\
from counterfeit_vision.fusion.handset import decide
from counterfeit_vision.fusion.cues import BrandCues
official = BrandCues("velora", title_brand=1, logo=1, photo=1, authorized_seller=True)
copycat = BrandCues("velora", title_brand=1, logo=1, photo=1, price_below_floor=1, title_misuse=0.9)
for c in (official, copycat):
    out = model.score(c)
    print(f"{out.confidence:.3f}", decide(out.confidence, model.thresholds_for("velora")).decision,
          out.contributions)"""),
]

ONBOARDING = [
    new_markdown_cell("""\
# Onboarding a brand and inspecting its matches

Build the reference index for the sample catalogue without one brand, onboard that
brand's folder, then match the sample listing photos and look at what was found:
the box in the listing photo and the reference image it matched."""),
    new_code_cell(SETUP),
    new_code_cell("""\
import counterfeit_vision
from counterfeit_vision.catalog import load_catalog
from counterfeit_vision.index.onboarding import build_index, onboard_brand_folder

catalog = load_catalog(REPO / "brand_catalog")
newcomer = "velora"
embedder = counterfeit_vision.create_embedder("efficientnet_lite0", device="cpu")
index = build_index(catalog.without_brand(newcomer), embedder, root=catalog.root)
print(len(index), "vectors for", sorted(index.brands()))"""),
    new_code_cell("""\
import tempfile
from pathlib import Path

# the folder is already in the catalogue, so nothing is copied; the index is saved to a scratch folder
index_dir = Path(tempfile.mkdtemp()) / "index"
brand = onboard_brand_folder(REPO / "brand_catalog" / newcomer, catalog_dir=REPO / "brand_catalog", index=index,
                             index_dir=index_dir, embedder=embedder)
print(f"onboarded {brand.name}: {len(brand.logos)} logos, {len(brand.references)} official photos;",
      len(index), "vectors for", sorted(index.brands()))"""),
    new_code_cell("""\
from PIL import Image
from counterfeit_vision.image.matcher import ImageMatcher
from counterfeit_vision.image.decode import ImageError, load_rgb

paths, photos = [], []
for p in sorted((REPO / "samples" / "images").glob("*.jpg")):
    try:
        photos.append(load_rgb(p, draft_size=512)); paths.append(p)
    except ImageError as exc:
        print("skipped", p.name, "-", exc)
matcher = ImageMatcher(embedder, index)
hits = matcher.match(photos)
for p, hs in zip(paths, hits):
    print(f"{p.name:22}", ", ".join(f"{h.brand_id}:{h.kind} {h.similarity:.2f}" for h in hs[:3]) or "-")"""),
    new_markdown_cell("""\
Each listing photo with its best hit: the box where the logo was found (whole photo
for an official-photo match) and the catalogue reference it matched."""),
    new_code_cell("""\
from matplotlib.patches import Rectangle
shown = [(p, img, hs[0]) for p, img, hs in zip(paths, photos, hits) if hs]
fig, axes = plt.subplots(len(shown), 2, figsize=(8, 3.2 * len(shown)), squeeze=False)
for (p, img, h), (a, b) in zip(shown, axes):
    a.imshow(img); a.set_title(f"{p.name}: {h.brand_id} {h.kind} ({h.similarity:.2f})", fontsize=9)
    if h.box:
        x1, y1, x2, y2 = h.box
        a.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=2, ec="red"))
    b.imshow(Image.open(catalog.root / h.ref_path)); b.set_title(f"reference {h.ref_path}", fontsize=9)
    a.axis("off"); b.axis("off")
plt.tight_layout()"""),
]


def write(path: Path, cells) -> None:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, str(path))


def main() -> None:
    write(HERE / "fusion_retraining.ipynb", RETRAINING)
    write(HERE / "brand_onboarding.ipynb", ONBOARDING)


if __name__ == "__main__":
    main()
