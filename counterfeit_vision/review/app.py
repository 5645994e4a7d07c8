"""The review app on FastAPI, served by uvicorn (``counterfeit-vision review``).

Routes (the API names are a contract for brands' scripts):

=========================  ===========  ====================================================
route                      auth         what
=========================  ===========  ====================================================
``GET /api/queue``         bearer       ``[{"id", "brand", "decision", "confidence", "verdict"}]``
``GET /api/listings/ID``   bearer       one listing's result (403: another brand's)
``POST /api/verdicts``     bearer       ``{"id", "verdict": counterfeit|genuine|appeal, "note"}``
``GET /login``             none         the login form (paste the token)
``POST /login``            token        sets the session cookie, to ``/``
``GET /``                  session      the queue with every listing's evidence card and buttons
``GET /listings/ID``       session      one listing's card
``POST /verdicts``         session      the buttons' form (CSRF token + Origin checked)
``POST /logout``           session      ends the session
=========================  ===========  ====================================================

Security model: a token (``review token add``) belongs to one brand; only its SHA-256 is
stored. The API takes it as ``Authorization: Bearer <token>`` (a browser never attaches that
header by itself, so the API needs no CSRF defence). Pages use a server-side session whose
random id is in an ``HttpOnly; SameSite=Strict`` cookie; every state-changing form (login,
verdicts, logout) must come from this origin (``Origin``, else ``Referer``, must match) and the
verdict and logout forms carry the session's CSRF token. Without a valid token or session a
request gets 401; another brand's listing 403. Requests naming another host are refused
(against DNS rebinding), pages forbid every script and outside source (CSP) and framing.
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

from counterfeit_vision.catalog import Catalog
from counterfeit_vision.feedback.store import VERDICTS, Reviewer
from counterfeit_vision.report.page import render_card
from counterfeit_vision.review.queue import AccessDenied, NotFound, ReviewQueue

__all__ = ["SESSION_COOKIE", "create_app", "serve"]

SESSION_COOKIE = "cv_session"
SESSION_SECONDS = 8 * 3600
MAX_BODY_FIELD = 4000
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LABELS = {"counterfeit": "confirm (counterfeit)", "genuine": "reject (genuine)", "appeal": "seller's appeal"}


@dataclass
class _Session:
    reviewer: Reviewer
    csrf: str
    expires: float


class _Sessions:
    """Server-side sessions (they end with the server); the cookie holds only a random id."""

    def __init__(self) -> None:
        self._by_id: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def create(self, reviewer: Reviewer) -> tuple[str, _Session]:
        sid, s = secrets.token_urlsafe(32), _Session(reviewer, secrets.token_urlsafe(32), time.time() + SESSION_SECONDS)
        with self._lock:
            self._by_id[sid] = s
        return sid, s

    def get(self, sid: str | None) -> _Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._by_id.get(sid)
            if s is not None and s.expires < time.time():
                del self._by_id[sid]
                return None
            return s

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)


def create_app(queue: ReviewQueue, *, catalog: Catalog | None = None, image_roots: Sequence[str | Path] = (),
               allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> FastAPI:
    """The app over ``queue`` (its store holds the reviewers' token hashes and takes the verdicts).

    Args:
        catalog: brand names and the matched reference images on the cards.
        image_roots: read listing photos for the cards only from inside these folders.
        allowed_hosts: host names the app answers to (``Host`` header); others get 400.
    """
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    sessions = _Sessions()
    store = queue.store

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    def brand_name(brand_id: str) -> str:
        return catalog[brand_id].name if catalog is not None and brand_id in catalog else brand_id

    # ------------------------------------------------------------------ API (bearer token)
    def bearer(request: Request) -> Reviewer | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return store.reviewer_for_token(token.strip()) if scheme.lower() == "bearer" else None

    def unauthorised() -> JSONResponse:
        return JSONResponse({"detail": "a reviewer token is required: Authorization: Bearer <token>"}, 401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.get("/api/queue")
    def api_queue(request: Request, brand: str | None = None):
        reviewer = bearer(request)
        if reviewer is None:
            return unauthorised()
        if brand is not None and brand != reviewer.brand_id:
            return JSONResponse({"detail": "this token is for another brand"}, 403)
        return [item.to_dict() for item in queue.items(reviewer)]

    @app.get("/api/listings/{listing_id}")
    def api_listing(request: Request, listing_id: str):
        reviewer = bearer(request)
        if reviewer is None:
            return unauthorised()
        try:
            return queue.result(reviewer, listing_id).to_dict()
        except NotFound:
            return JSONResponse({"detail": "no such listing in the queue"}, 404)
        except AccessDenied:
            return JSONResponse({"detail": "this listing belongs to another brand"}, 403)

    @app.post("/api/verdicts")
    async def api_verdict(request: Request):
        reviewer = bearer(request)
        if reviewer is None:
            return unauthorised()
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "the body must be JSON"}, 422)
        problem = _check_verdict_body(body)
        if problem:
            return JSONResponse({"detail": problem}, 422)
        try:
            verdict_id = queue.judge(reviewer, body["id"], body["verdict"], body.get("note"))
        except NotFound:
            return JSONResponse({"detail": "no such listing in the queue"}, 404)
        except AccessDenied:
            return JSONResponse({"detail": "this listing belongs to another brand"}, 403)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, 422)
        return {"ok": True, "verdict_id": verdict_id, "id": body["id"], "verdict": body["verdict"]}

    # ------------------------------------------------------------------ pages (session cookie)
    def session(request: Request) -> _Session | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    def login_page(status: int = 200, message: str = "") -> HTMLResponse:
        msg = f'<p class="error">{_e(message)}</p>' if message else ""
        return _html("Sign in", f'<h1>Review queue: sign in</h1>{msg}<form method="post" action="/login" '
                     'class="login"><label>reviewer token <input type="password" name="token" id="token" '
                     'autocomplete="off" required></label> <button type="submit" id="sign-in">sign in</button>'
                     '</form><p class="muted">Tokens come from <code>counterfeit-vision review token add</code>.</p>',
                     status)

    @app.get("/login", response_class=HTMLResponse)
    def login_form():
        return login_page()

    @app.post("/login")
    async def login(request: Request):
        if not _same_origin(request):
            return _html("Refused", "<h1>Refused</h1><p>cross-site request</p>", 403)
        form = await request.form()
        reviewer = store.reviewer_for_token(str(form.get("token", ""))[:MAX_BODY_FIELD].strip())
        if reviewer is None:
            return login_page(401, "token not recognised")
        sid, _ = sessions.create(reviewer)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, sid, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    @app.post("/logout")
    async def logout(request: Request):
        s = session(request)
        form = await request.form()
        if s is None:
            return login_page(401)
        if not _same_origin(request) or not _csrf_ok(s, form.get("csrf_token")):
            return _html("Refused", "<h1>Refused</h1><p>cross-site request</p>", 403)
        sessions.drop(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def queue_page(request: Request):
        s = session(request)
        if s is None:
            return login_page(401, "sign in to see your queue")
        items = queue.items(s.reviewer)
        confirmed, judged = queue.confirmation_rate(s.reviewer)
        rate = f"{confirmed} of {judged} judged ({confirmed / judged:.0%})" if judged else "no verdicts yet"
        rows = "".join(
            f'<tr data-id="{_e(i.id)}"><td><a href="/listings/{quote(i.id, safe="")}"><code>{_e(i.id)}</code></a></td>'
            f'<td>{_e(i.decision)}</td><td>{i.confidence:.2f}</td><td class="verdict">{_e(i.verdict or "—")}</td></tr>'
            for i in items)
        cards = "".join(card(s, queue.result(s.reviewer, i.id), i.verdict) for i in items)
        body = (f'<header class="page-head"><h1>Review queue: {_e(brand_name(s.reviewer.brand_id))}</h1>'
                f'<p class="meta">signed in as reviewer {s.reviewer.id} · {len(items)} listing(s), review first · '
                f'<span id="confirmation-rate">confirmation rate: {rate}</span></p>{logout_form(s)}</header>'
                f'<main><table class="queue"><thead><tr><th>listing</th><th>decision</th><th>confidence</th>'
                f'<th>verdict</th></tr></thead><tbody>{rows}</tbody></table>'
                f'{cards or "<p>Nothing to review.</p>"}</main>')
        return _html(f"Review queue: {brand_name(s.reviewer.brand_id)}", body)

    @app.get("/listings/{listing_id}", response_class=HTMLResponse)
    def listing_page(request: Request, listing_id: str):
        s = session(request)
        if s is None:
            return login_page(401, "sign in to see this listing")
        try:
            r = queue.result(s.reviewer, listing_id)
        except NotFound:
            return _html("Not found", "<h1>Not found</h1><p>no such listing in the queue</p>", 404)
        except AccessDenied:
            return _html("Forbidden", "<h1>Forbidden</h1><p>this listing belongs to another brand</p>", 403)
        verdict = store.latest_verdicts(s.reviewer.brand_id).get(r.id)
        return _html(f"Listing {r.id}", f'<p><a href="/">back to the queue</a></p>{card(s, r, verdict)}')

    @app.post("/verdicts")
    async def verdict_form(request: Request):
        s = session(request)
        form = await request.form()
        if s is None:
            return login_page(401, "sign in first")
        if not _same_origin(request) or not _csrf_ok(s, form.get("csrf_token")):
            return _html("Refused", "<h1>Refused</h1><p>cross-site request</p>", 403)
        body = {k: form.get(k) for k in ("id", "verdict", "note") if form.get(k) not in (None, "")}
        problem = _check_verdict_body(body)
        if problem:
            return _html("Bad request", f"<h1>Bad request</h1><p>{_e(problem)}</p>", 422)
        try:
            queue.judge(s.reviewer, body["id"], body["verdict"], body.get("note"))
        except NotFound:
            return _html("Not found", "<h1>Not found</h1><p>no such listing in the queue</p>", 404)
        except AccessDenied:
            return _html("Forbidden", "<h1>Forbidden</h1><p>this listing belongs to another brand</p>", 403)
        except ValueError as exc:
            return _html("Bad request", f"<h1>Bad request</h1><p>{_e(exc)}</p>", 422)
        return RedirectResponse(f"/#verdict-{quote(body['id'], safe='')}", status_code=303)

    def logout_form(s: _Session) -> str:
        return (f'<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf_token" '
                f'value="{_e(s.csrf)}"><button type="submit">sign out</button></form>')

    def card(s: _Session, r, verdict: str | None) -> str:
        buttons = "".join(f'<button type="submit" name="verdict" value="{v}" class="v-{v}">{LABELS[v]}</button>'
                          for v in VERDICTS)
        return (f'<section class="review-item" id="verdict-{_e(r.id)}" data-id="{_e(r.id)}">'
                f'{render_card(r, queue.listings.get(r.id), catalog=catalog, image_roots=image_roots)}'
                f'<form method="post" action="/verdicts" class="verdict-form"><input type="hidden" name="csrf_token" '
                f'value="{_e(s.csrf)}"><input type="hidden" name="id" value="{_e(r.id)}">'
                f'<span class="current">verdict: <b>{_e(verdict or "none yet")}</b></span> {buttons} '
                f'<input type="text" name="note" maxlength="2000" placeholder="appeal note (what the seller claims)">'
                f'</form></section>')

    return app


def _check_verdict_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be an object {id, verdict, note}"
    if not isinstance(body.get("id"), str) or not body["id"] or len(body["id"]) > MAX_BODY_FIELD:
        return "id must be a listing id (a string)"
    if body.get("verdict") not in VERDICTS:
        return f"verdict must be one of {', '.join(VERDICTS)}"
    if body.get("note") is not None and not isinstance(body["note"], str):
        return "note must be a string"
    return None


def _same_origin(request: Request) -> bool:
    """A state-changing browser request must come from a page of this app (Origin, else Referer)."""
    expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is None:
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None
    return origin is not None and hmac.compare_digest(origin, expected)


def _csrf_ok(s: _Session, token: Any) -> bool:
    return isinstance(token, str) and hmac.compare_digest(token, s.csrf)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _css() -> str:
    return resources.files("counterfeit_vision.report").joinpath("static", "report.css").read_text(encoding="utf-8")


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    extra = (".queue{border-collapse:collapse;background:#fff;margin:0 0 12px}.queue td,.queue th{padding:4px 10px;"
             "border-top:1px solid #e3e5e8;text-align:left}.review-item{margin:0 0 16px}.verdict-form{display:flex;"
             "gap:8px;align-items:center;flex-wrap:wrap;background:#fff;border:1px solid #d6d8dc;border-top:0;"
             "padding:8px 16px;border-radius:0 0 8px 8px}.verdict-form input[type=text]{flex:1;min-width:240px}"
             ".logout{display:inline}.login{margin:20px}")
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<style>{_css()}{extra}</style></head><body>{body}</body></html>')
    return HTMLResponse(page, status)


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)

