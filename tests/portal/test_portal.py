"""The demo portal blueprint (Sanic 25) and the token-minting example, without a browser."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from widget_support import Portal, start_portal, stop_portal

from bot.ops.ports import free_port
from bot.portal import STATIC, bot_origin, content_security_policy, render_page, widget_tag
from bot.portal.token import demo_patient_cookie, demo_patient_id, mint_widget_token

SECRET = "portal-test-secret-0123456789abcdef0123"
BOT = "http://127.0.0.1:5005"


def test_the_widget_script_never_writes_html() -> None:
    source = (STATIC / "widget.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink


def test_widget_tag_escapes_its_attributes() -> None:
    tag = widget_tag('http://x"><script>alert(1)</script>', "555-0100")

    assert "<script>alert" not in tag and "&quot;&gt;&lt;script&gt;" in tag
    assert tag.startswith('<script src="/widget/widget.js"') and tag.endswith(" defer></script>")


def test_the_page_embeds_the_widget_with_one_script_tag_and_no_inline_script() -> None:
    page = render_page(BOT, "555-0100", "Clinic <b>A</b>", token_url="/portal/token")

    scripts = re.findall(r"<script\b[^>]*>", page)
    assert len(scripts) == 1
    assert f'data-bot-url="{BOT}"' in scripts[0] and 'data-token-url="/portal/token"' in scripts[0]
    assert "Clinic &lt;b&gt;A&lt;/b&gt;" in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://x; script-src *", "ftp://bot", "not a url"])
def test_only_plain_http_bot_urls_go_into_the_csp(url: str) -> None:
    with pytest.raises(ValueError):
        bot_origin(url)


def test_csp_allows_scripts_only_from_self_and_connections_to_the_bot() -> None:
    csp = content_security_policy("https://bot.example.org/some/path")

    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "connect-src 'self' https://bot.example.org;" in csp
    assert "frame-ancestors 'none'" in csp


def test_minted_tokens_carry_sub_and_a_short_expiry() -> None:
    token = mint_widget_token(SECRET, "patient-1", ttl_seconds=300)

    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "patient-1" and claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 5


def test_demo_patient_cookie_is_signed() -> None:
    patient = demo_patient_id(SECRET, "")
    cookie = demo_patient_cookie(SECRET, patient)

    assert demo_patient_id(SECRET, cookie) == patient
    assert demo_patient_id(SECRET, cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) != patient
    assert demo_patient_id("another-secret", cookie) != patient


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    running = start_portal(free_port(), BOT, tmp_path_factory.mktemp("p") / "portal.log")
    yield running
    stop_portal(running)


@pytest.fixture(scope="module")
def signed_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    running = start_portal(free_port(), BOT, tmp_path_factory.mktemp("p") / "portal.log", jwt_secret=SECRET)
    yield running
    stop_portal(running)


@pytest.mark.integration
def test_the_blueprint_serves_the_page_with_csp_and_the_widget_files(portal: Portal) -> None:
    page = requests.get(portal.url + "/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == content_security_policy(BOT)
    assert 'data-clinic-phone="555-0100"' in page.text and "data-token-url" not in page.text

    js = requests.get(portal.url + "/widget/widget.js", timeout=5)
    css = requests.get(portal.url + "/widget/widget.css", timeout=5)
    assert js.headers["Content-Type"].startswith("text/javascript") and "Open chat" in js.text
    assert css.headers["Content-Type"].startswith("text/css")
    assert requests.get(portal.url + "/portal/token", timeout=5).status_code == 404


@pytest.mark.integration
def test_the_token_endpoint_mints_a_jwt_for_the_same_demo_patient(signed_portal: Portal, tmp_path: Path) -> None:
    assert 'data-token-url="/portal/token"' in requests.get(signed_portal.url + "/", timeout=5).text
    session = requests.Session()

    first = session.get(signed_portal.url + "/portal/token", timeout=5)
    second = session.get(signed_portal.url + "/portal/token", timeout=5)
    stranger = requests.get(signed_portal.url + "/portal/token", timeout=5)

    assert first.headers["Cache-Control"] == "no-store"
    cookie = first.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/portal" in cookie
    subs = [jwt.decode(r.json()["token"], SECRET, algorithms=["HS256"])["sub"] for r in (first, second, stranger)]
    assert subs[0] == subs[1] and subs[0] != subs[2] and subs[0].startswith("demo-")
