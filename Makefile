# The two commands of the quick start: `make demo` and `make test`.
# Each creates .venv and installs what it needs when absent.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch and torchvision pinned to the builds on this machine's disk (see DEVELOPERS notes in README)
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: browser fonts demo lint test test-fast bench eval clean-venv sample-data logo-model

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/counterfeit-vision scan samples/listings.jsonl --catalog brand_catalog \
		--index indexes/sample --out results/demo_results.jsonl --report results/demo_report.html

# The evidence page is tested in Debian's headless chromium; install it when absent
# (the browser tests skip with a reason if this is not possible, e.g. without root).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "warning: could not install chromium; browser tests will be skipped"

# A CJK font for the test that renders a brand's Chinese alias on a photo (skipped with a reason without one).
fonts:
	@test -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null; } || \
	  echo "warning: could not install fonts-wqy-zenhei; the Chinese OCR test will be skipped"

test: $(STAMP) browser fonts lint
	$(PY) -m pytest -q

# pyflakes, pycodestyle, import order and public docstrings (config: pyproject.toml [tool.ruff])
lint: $(STAMP)
	$(PY) -m ruff check .

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

sample-data: $(STAMP)
	$(PY) scripts/make_sample_data.py

# The logo-tuned Lite0 tail (efficientnet_lite0_logo), from simple-icons in the shared data (~30 min, 2 cores)
SHARED ?= ../shared/data
logo-model: $(STAMP)
	$(PY) -m pip install -q -e '.[tuning]'
	$(PY) -m training.logo_tuning --icons $(SHARED)/simple_icons \
		--out counterfeit_vision/embedders/weights/efficientnet_lite0_logo_tail.pt

clean-venv:
	rm -rf $(VENV)
