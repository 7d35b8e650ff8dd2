"""STAFF_AUTH=proxy: the identity header of a single sign-on proxy, honoured only from a trusted address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_support import CSRF, PASSWORD, Harness, log_in

from bot.settings import Settings, SettingsError
from bot.staff.accounts import update_account

PROXY = {"staff_auth": "proxy", "staff_trusted_proxies": "10.0.0.0/8, 192.0.2.7"}


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    h = Harness(tmp_path, **PROXY)
    h.add("ann@clinic.org", "clinician", "Ann Lee")
    return h


@pytest.mark.parametrize("address", ["10.20.30.40", "192.0.2.7"])
def test_from_a_trusted_proxy_the_header_names_the_account(harness: Harness, address: str) -> None:
    ticket = harness.store.create_ticket("c1", "rest", "urgent", "fever", "hot", [])

    async def body(c: httpx.AsyncClient) -> None:
        me = await c.get("/staff/api/me", headers={"X-Forwarded-User": "Ann@Clinic.org"})
        assert me.json() == {"username": "ann@clinic.org", "name": "Ann Lee", "role": "clinician", "via": "proxy"}
        page = await c.get("/staff", headers={"X-Forwarded-User": "ann@clinic.org"})
        assert page.status_code == 200 and "staff.js" in page.text
        claim = f"/staff/api/tickets/{ticket.id}/claim"
        headers = {"X-Forwarded-User": "ann@clinic.org"}
        assert (await c.post(claim, headers=headers)).json()["error"] == "csrf"  # the proxy's cookie rides along
        claimed = await c.post(claim, headers={**headers, **CSRF})
        assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "ann@clinic.org"

    harness.run(body, client=address)


@pytest.mark.parametrize("address", ["127.0.0.1", "192.0.2.8", "11.0.0.1"])
def test_from_any_other_address_the_header_is_ignored(harness: Harness, address: str) -> None:
    async def body(c: httpx.AsyncClient) -> None:
        spoofed = {"X-Forwarded-User": "ann@clinic.org", "X-Forwarded-For": "10.0.0.1", "X-Real-IP": "10.0.0.1"}
        assert (await c.get("/staff/api/me", headers=spoofed)).status_code == 401
        assert (await c.get("/staff/api/tickets", headers=spoofed)).status_code == 401
        page = await c.get("/staff", headers=spoofed)
        assert page.status_code == 401 and "single sign-on" in page.text and "staff.js" not in page.text

    harness.run(body, client=address)


def test_the_user_must_have_an_active_account(harness: Harness) -> None:
    async def body(c: httpx.AsyncClient) -> None:
        for user in ("bob@clinic.org", "not a username", "x" * 300):
            response = await c.get("/staff/api/me", headers={"X-Forwarded-User": user})
            assert response.status_code == 403 and response.json()["error"] == "no_account"
        assert (await c.get("/staff/api/me")).status_code == 401  # no header: nobody
        update_account(harness.store, "ann@clinic.org", disabled=True)
        assert (await c.get("/staff/api/me", headers={"X-Forwarded-User": "ann@clinic.org"})).status_code == 403
        assert (await c.get("/staff", headers={"X-Forwarded-User": "ann@clinic.org"})).status_code == 403

    harness.run(body, client="10.0.0.5")


def test_proxy_mode_has_no_password_form_and_reads_the_configured_header(tmp_path: Path) -> None:
    h = Harness(tmp_path, **PROXY, staff_proxy_header="X-Auth-Request-User")
    h.add("ann")

    async def body(c: httpx.AsyncClient) -> None:
        assert (await log_in(c, "ann", PASSWORD, h.code("ann"))).status_code == 404
        assert (await c.get("/staff/api/me", headers={"X-Forwarded-User": "ann"})).status_code == 401
        assert (await c.get("/staff/api/me", headers={"X-Auth-Request-User": "ann"})).json()["username"] == "ann"

    h.run(body, client="10.0.0.5")


@pytest.mark.parametrize(
    ("variable", "value"), [("STAFF_TRUSTED_PROXIES", "10.0.0.0/33"), ("STAFF_TRUSTED_PROXIES", "proxy.local")]
)
def test_a_bad_proxy_list_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: entries must be IP addresses or CIDRs"):
        Settings.from_env({variable: value})
