"""The review app in headless Chromium (the report tests' selenium setup) against a real uvicorn server:
a Velora reviewer signs in, sees only Velora's listings, confirms two, rejects one, files an appeal note;
the store holds exactly those verdicts and train's reader reads them; a forged cross-site POST is refused."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

from counterfeit_vision.fusion.fitting import FeatureTable

from .conftest import VELORA_IDS

APPEAL_NOTE = 'seller says: "bought from an authorised outlet" <b>receipt</b> attached'


def _sign_in(driver, served, token):
    from selenium.webdriver.common.by import By

    driver.get(served.url + "/")
    assert "sign in" in driver.find_element(By.TAG_NAME, "h1").text
    driver.find_element(By.ID, "token").send_keys(token)
    _click_and_wait(driver, driver.find_element(By.ID, "sign-in"))
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Review queue: velora")


def _click_and_wait(driver, button):
    """Click a submit button and wait until the page it leads to has replaced this one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element("tag name", "html")
    button.click()

    def replaced(_driver) -> bool:
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # Chromium's other word for it, mid-navigation
            if "does not belong to the document" in str(exc):
                return True
            raise

    WebDriverWait(driver, 20).until(replaced)


def _judge(driver, listing_id, verdict, note=None):
    from selenium.webdriver.common.by import By

    item = driver.find_element(By.ID, f"verdict-{listing_id}")
    if note is not None:
        item.find_element(By.NAME, "note").send_keys(note)
    _click_and_wait(driver, item.find_element(By.CSS_SELECTOR, f"button.v-{verdict}"))
    item = driver.find_element(By.ID, f"verdict-{listing_id}")       # the queue again, after the redirect
    assert item.find_element(By.CSS_SELECTOR, ".current b").text == verdict


def test_velora_reviewer_judges_their_queue(served, driver):
    from selenium.webdriver.common.by import By

    _sign_in(driver, served, served.velora_token)
    shown = [s.get_attribute("data-id") for s in driver.find_elements(By.CSS_SELECTOR, "section.review-item")]
    assert shown == ["v-review-1", "v-review-2", "v-takedown-1", "v-takedown-2"]   # Velora's only, review first
    assert all(i in VELORA_IDS for i in shown)
    assert driver.find_elements(By.CSS_SELECTOR, "#verdict-v-review-1 article.card .box")   # the evidence card
    _judge(driver, "v-review-1", "counterfeit")
    _judge(driver, "v-takedown-1", "counterfeit")
    _judge(driver, "v-review-2", "genuine")
    _judge(driver, "v-takedown-2", "appeal", APPEAL_NOTE)
    assert driver.find_element(By.ID, "confirmation-rate").text == "confirmation rate: 2 of 3 judged (67%)"

    velora_reviewer = served.store.reviewer_for_token(served.velora_token)
    rows = [(v["listing_id"], v["verdict"], v["note"], v["reviewer_id"]) for v in served.store.verdicts()]
    assert rows == [("v-review-1", "counterfeit", None, velora_reviewer.id),
                    ("v-takedown-1", "counterfeit", None, velora_reviewer.id),
                    ("v-review-2", "genuine", None, velora_reviewer.id),
                    ("v-takedown-2", "appeal", APPEAL_NOTE, velora_reviewer.id)]
    assert {o["outcome"] for o in served.store.outcomes()} == {"confirmed_fake", "rejected"}
    table = FeatureTable.from_store(served.store)          # what `train` fits on
    assert dict(zip(table.listing_id, table.y)) == {"v-review-1": 1, "v-takedown-1": 1, "v-review-2": 0}
    assert table.X.shape == (3, len(table.X[0])) and table.X.any()

    driver.get(served.url + "/listings/k-review-1")        # Korvex's listing: forbidden to Velora
    assert driver.find_element(By.TAG_NAME, "h1").text == "Forbidden"

    driver.get(served.url + "/")
    shots = Path(os.environ.get("CV_REPORT_SCREENSHOT_DIR", served.results.parent))
    shots.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(int(height), 800), 5000))
    assert driver.save_screenshot(str(shots / "review.png"))
    driver.set_window_size(1400, 1800)


def test_forged_cross_site_post_is_refused(served, driver, tmp_path):
    from selenium.webdriver.common.by import By

    _sign_in(driver, served, served.velora_token)
    # a page on another site (localhost is not 127.0.0.1) that posts a verdict on load
    (tmp_path / "evil.html").write_text(
        f'<html><body><form id="f" method="post" action="{served.url}/verdicts">'
        '<input name="id" value="v-review-1"><input name="verdict" value="genuine"></form>'
        '<script>document.getElementById("f").submit()</script></body></html>', encoding="utf-8")
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        driver.get(f"http://localhost:{evil.server_address[1]}/evil.html")
        assert driver.current_url.startswith(served.url)  # the form did post to the app
        # refused: SameSite=Strict keeps the session cookie off a cross-site request (and the Origin is foreign)
        assert driver.find_element(By.TAG_NAME, "h1").text in ("Review queue: sign in", "Refused")
    finally:
        evil.shutdown()
    assert served.store.verdicts() == []
    driver.get(served.url + "/")                          # still signed in, nothing judged
    assert driver.find_element(By.CSS_SELECTOR, "#verdict-v-review-1 .current b").text == "none yet"
