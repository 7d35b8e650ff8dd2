"""Building blocks of the staff app's authentication (bot/staff/gate.py puts them together): the caller's identity,
the Bearer token check, and the CSRF and credential-in-URL checks.

Browser-authenticated (session cookie or single sign-on) requests that change state must also pass `csrf_ok`: a
custom header that only the page's own script sends (a cross-site form cannot set it) and, when the browser says
where the request comes from, the same origin. Credentials are never taken from the URL: `url_credential` finds them so
the app can refuse the request (a URL ends up in history, proxy logs and Referer headers).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from sanic import Request

CSRF_HEADER = "X-Staff-CSRF"
URL_CREDENTIALS = frozenset({"token", "access_token", "staff_token", "session", "staff_session", "password", "totp"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class StaffIdentity:
    """Who is making a staff request: set on ``request.ctx.staff`` by the API's auth check.

    username: the account's login name (what "claimed by" and the audit trail record); name: the display name;
    role: staff, clinician, admin, or machine (the STAFF_TOKEN for scripts and monitoring).
    """

    username: str
    name: str
    role: str


def staff_of(request: Request) -> StaffIdentity:
    """The authenticated caller; only call it in routes behind the auth check."""
    identity: StaffIdentity = request.ctx.staff
    return identity


def client_address(request: Request) -> str:
    """The caller's address as this server sees it (the proxy's, behind one): for the audit trail."""
    return str(request.ip or "")


def token_matches(given: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def bearer_ok(request: Request, token: str) -> bool:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and token_matches(value.strip(), token)


def same_origin(request: Request) -> bool:
    """False when the browser reports a request from another site (Origin or Sec-Fetch-Site).

    Origin's host is compared with Host, not its scheme: behind a TLS-terminating proxy the page is
    https while this server sees http.
    """
    origin = request.headers.get("origin")
    if origin is not None and (urlsplit(origin).netloc or "-") != request.host:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def over_tls(request: Request) -> bool:
    """The browser reached us over https: directly, or through a proxy (its Origin says https)."""
    return request.scheme == "https" or (request.headers.get("origin") or "").startswith("https://")


def csrf_ok(request: Request) -> bool:
    return request.headers.get(CSRF_HEADER) == "1" and same_origin(request)


def url_credential(request: Request) -> bool:
    pairs = parse_qsl(request.query_string, keep_blank_values=True)  # `?token=` and `?token` count too
    return any(name.strip().lower() in URL_CREDENTIALS for name, _ in pairs)
