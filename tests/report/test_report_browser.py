"""The evidence page in a real headless browser (Debian's chromium + chromedriver via selenium).

Skips with the reason when selenium, chromium or chromedriver is missing; CI installs them:
    apt-get install -y chromium chromium-driver  &&  pip install selenium
Set CV_REPORT_SCREENSHOT_DIR to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from counterfeit_vision.report.page import write_report

from .conftest import make_sample

CHROMIUM = os.environ.get("CV_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CV_CHROMEDRIVER", "/usr/bin/chromedriver")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            pytest.skip(f"{what} not found at {path} (apt-get install -y chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="cv-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--window-size=1400,1800", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(driver, tmp_path):
    from selenium.webdriver.common.by import By

    sample = make_sample(tmp_path)
    report = write_report(sample.results, tmp_path / "report.html", catalog=sample.catalog,
                          listings=sample.listings)
    driver.get(report.resolve().as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Counterfeit evidence report")
    return driver


def _visible_ids(driver):
    from selenium.webdriver.common.by import By

    return [c.get_attribute("data-id") for c in driver.find_elements(By.CSS_SELECTOR, "article.card")
            if c.is_displayed()]


def _select(driver, elem_id, value):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, elem_id)).select_by_value(value)


def test_cards_boxes_and_images_render(page):
    from selenium.webdriver.common.by import By

    assert _visible_ids(page) == ["L1", "L2", "L3", "L5"]
    boxes = page.find_elements(By.CSS_SELECTOR, ".card .box")
    assert len(boxes) >= 4
    for b in boxes:
        assert b.is_displayed() and b.size["width"] > 0 and b.size["height"] > 0
    logo = page.find_element(By.CSS_SELECTOR, '#listing-L1 .box-logo[data-box="300,200,600,400"]')
    img = logo.find_element(By.XPATH, "preceding-sibling::img")
    assert (logo.size["width"], logo.size["height"]) == (120, 80)                    # 0.4 scale
    assert logo.location["x"] - img.location["x"] == 120 and logo.location["y"] - img.location["y"] == 80
    for im in page.find_elements(By.CSS_SELECTOR, "img.thumb, img.ref-img"):
        assert page.execute_script("return arguments[0].complete && arguments[0].naturalWidth", im) > 0
    assert page.find_elements(By.CSS_SELECTOR, "#listing-L1 mark")
    placeholders = page.find_elements(By.CSS_SELECTOR, ".placeholder")
    assert any("image not found" in p.text for p in placeholders)
    # the title's <script> and onerror are inert text
    assert page.execute_script("return window.__pwned === undefined")
    assert "<script>window.__pwned = 1</script>" in page.find_element(By.CSS_SELECTOR, "#listing-L1 .title").text
    severe = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_filters_change_visibility(page):
    from selenium.webdriver.common.by import By

    _select(page, "filter-brand", "adidos")
    assert _visible_ids(page) == ["L2", "L3"]
    assert page.find_element(By.ID, "count").text == "2 of 4 shown"
    _select(page, "filter-decision", "review")
    assert _visible_ids(page) == ["L2", "L3"]
    _select(page, "filter-brand", "nikee")
    assert _visible_ids(page) == []
    _select(page, "filter-brand", "*")
    assert _visible_ids(page) == ["L2", "L3"]
    _select(page, "filter-decision", "error")
    assert _visible_ids(page) == ["L5"]
    _select(page, "filter-decision", "*")
    assert len(_visible_ids(page)) == 4


def test_sorting(page):
    from selenium.webdriver.common.by import By

    def confidences():
        return [float(c.get_attribute("data-confidence"))
                for c in page.find_elements(By.CSS_SELECTOR, "article.card") if c.is_displayed()]

    button = page.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="confidence"]')
    button.click()
    assert confidences() == sorted(confidences(), reverse=True) == [0.93, 0.55, 0.41, 0.0]
    button.click()
    assert confidences() == [0.0, 0.41, 0.55, 0.93]
    page.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="brand"]').click()
    brands = [c.get_attribute("data-brand") for c in page.find_elements(By.CSS_SELECTOR, "article.card")]
    assert brands == ["adidos", "adidos", "nikee", ""]                             # no brand last
    page.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="decision"]').click()
    assert _visible_ids(page) == ["L1", "L2", "L3", "L5"]
    # sorting keeps the filter
    _select(page, "filter-brand", "adidos")
    button.click()
    assert _visible_ids(page) == ["L2", "L3"]


def test_screenshot(page, tmp_path):
    out_dir = Path(os.environ.get("CV_REPORT_SCREENSHOT_DIR", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1400, min(max(int(height), 800), 6000))
    shot = out_dir / "report.png"
    assert page.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
