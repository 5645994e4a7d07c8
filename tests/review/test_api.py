"""The review API and the pages' protections, against a real uvicorn server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from counterfeit_vision.fusion.fitting import FeatureTable

from .conftest import KORVEX_IDS, VELORA_IDS


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def call(method: str, url: str, *, token: str | None = None, json_body=None, form=None, headers=None):
    """(status, headers, body text) of one request; redirects are not followed."""
    h = dict(headers or {})
    data = None
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data, h["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    if form is not None:
        data, h["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with _OPENER.open(req, timeout=20) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def test_queue_is_the_tokens_brand_review_first_by_confidence(served):
    status, headers, body = call("GET", f"{served.url}/api/queue", token=served.velora_token)
    assert status == 200 and headers["Content-Security-Policy"].startswith("default-src 'none'")
    rows = json.loads(body)
    assert [r["id"] for r in rows] == ["v-review-1", "v-review-2", "v-takedown-1", "v-takedown-2"]
    assert rows[0] == {"id": "v-review-1", "brand": "velora", "decision": "review", "confidence": 0.62,
                       "verdict": None}
    rows = json.loads(call("GET", f"{served.url}/api/queue", token=served.korvex_token)[2])
    assert [r["id"] for r in rows] == ["k-review-1", "k-takedown-1"]


def test_without_a_valid_token_401(served):
    for path in ("/api/queue", f"/api/listings/{VELORA_IDS[0]}"):
        status, headers, _ = call("GET", served.url + path)
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        assert call("GET", served.url + path, token="cvr_not-a-token")[0] == 401
    assert call("POST", f"{served.url}/api/verdicts", json_body={"id": VELORA_IDS[0], "verdict": "genuine"})[0] == 401
    assert call("GET", served.url + "/")[0] == 401                      # the pages too
    assert call("GET", f"{served.url}/listings/{VELORA_IDS[0]}")[0] == 401
    assert served.store.verdicts() == []


def test_another_brands_token_gets_403(served):
    k = served.korvex_token
    assert call("GET", f"{served.url}/api/listings/{VELORA_IDS[0]}", token=k)[0] == 403
    assert call("POST", f"{served.url}/api/verdicts", token=k,
                json_body={"id": VELORA_IDS[0], "verdict": "genuine"})[0] == 403
    assert call("GET", f"{served.url}/api/queue?brand=velora", token=k)[0] == 403
    assert served.store.verdicts() == []
    assert call("GET", f"{served.url}/api/listings/nope", token=k)[0] == 404
    status, _, body = call("GET", f"{served.url}/api/listings/{KORVEX_IDS[0]}", token=k)
    assert status == 200 and json.loads(body)["brand"] == "korvex"


def test_api_verdicts_reach_the_store_and_train(served):
    v = served.velora_token
    assert call("POST", f"{served.url}/api/verdicts", token=v,
                json_body={"id": "v-review-1", "verdict": "counterfeit", "note": None})[0] == 200
    assert call("POST", f"{served.url}/api/verdicts", token=v,
                json_body={"id": "v-review-2", "verdict": "maybe"})[0] == 422
    assert call("POST", f"{served.url}/api/verdicts", token=v,
                json_body={"id": "v-review-2", "verdict": "appeal"})[0] == 422      # an appeal needs a note
    assert call("POST", f"{served.url}/api/verdicts", token=v, json_body=["not", "an", "object"])[0] == 422
    assert call("GET", f"{served.url}/api/queue", token=v)[2].count('"verdict":"counterfeit"') == 1
    (row,) = served.store.verdicts()
    assert (row["listing_id"], row["verdict"], row["brand_id"]) == ("v-review-1", "counterfeit", "velora")
    assert row["result_version"].startswith("result-") and row["decided_at"]
    (outcome,) = served.store.outcomes()
    assert outcome["outcome"] == "confirmed_fake" and outcome["reviewer"] == f"reviewer:{row['reviewer_id']}"
    table = FeatureTable.from_store(served.store)
    assert list(table.listing_id) == ["v-review-1"] and list(table.y) == [1]


def _login(served, token: str) -> str:
    status, headers, _ = call("POST", f"{served.url}/login", form={"token": token},
                              headers={"Origin": served.url})
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    return cookie.split(";", 1)[0]


def _csrf(page: str) -> str:
    marker = 'name="csrf_token" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_browser_forms_need_same_origin_and_the_csrf_token(served):
    cookie = _login(served, served.velora_token)
    status, _, page = call("GET", served.url + "/", headers={"Cookie": cookie})
    assert status == 200 and "v-review-1" in page and "k-review-1" not in page
    csrf = _csrf(page)
    form = {"id": "v-review-1", "verdict": "genuine", "csrf_token": csrf}
    assert call("POST", f"{served.url}/verdicts", form=form,
                headers={"Cookie": cookie, "Origin": "http://evil.example"})[0] == 403
    assert call("POST", f"{served.url}/verdicts", form=form, headers={"Cookie": cookie})[0] == 403  # no Origin
    assert call("POST", f"{served.url}/verdicts", form=form | {"csrf_token": "forged"},
                headers={"Cookie": cookie, "Origin": served.url})[0] == 403
    assert call("POST", f"{served.url}/verdicts", form=form, headers={"Origin": served.url})[0] == 401  # no cookie
    assert served.store.verdicts() == []
    assert call("POST", f"{served.url}/verdicts", form=form,
                headers={"Cookie": cookie, "Origin": served.url})[0] == 303
    assert [v["verdict"] for v in served.store.verdicts()] == ["genuine"]
    # another brand's listing through the pages: 403
    assert call("GET", f"{served.url}/listings/{KORVEX_IDS[0]}", headers={"Cookie": cookie})[0] == 403
    assert call("POST", f"{served.url}/verdicts", form=form | {"id": KORVEX_IDS[0]},
                headers={"Cookie": cookie, "Origin": served.url})[0] == 403
    # a login from another site is refused too (login CSRF)
    assert call("POST", f"{served.url}/login", form={"token": served.velora_token},
                headers={"Origin": "http://evil.example"})[0] == 403


def test_other_hosts_are_refused(served):
    assert call("GET", f"{served.url}/api/queue", token=served.velora_token,
                headers={"Host": "rebound.example"})[0] == 400
