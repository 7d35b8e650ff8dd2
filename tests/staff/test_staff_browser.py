from __future__ import annotations

from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, Page, expect
from staff_support import Staff, StaffServer, add_staff

from bot.staff.sessions import COOKIE

pytestmark = [pytest.mark.integration, pytest.mark.browser]

MESSAGE = 'my son has 39C <img src=x onerror="document.title=1"> since last night'


def log_in(page: Page, server: StaffServer, staff: Staff, password: str | None = None) -> None:
    page.goto(f"{server.base_url}/staff")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password if password is None else password)
    page.get_by_label("Authentication code").fill(staff.code())
    page.get_by_role("button", name="Log in").click()


def test_staff_logs_in_sees_the_ticket_and_resolves_it(page: Page, staff_server: StaffServer) -> None:
    store = staff_server.store()
    transcript = [
        {"role": "user", "text": "hello"},
        {"role": "bot", "text": "Hi! Ask me about eczema medicines."},
        {"role": "user", "text": MESSAGE},
    ]
    urgent = store.create_ticket("browser-1", "rest", "urgent", "Fever on methotrexate <b>now</b>", MESSAGE, transcript)
    store.add_message(urgent.id, "still hot after paracetamol")
    store.create_ticket("browser-2", "sms", "emergency", "Trouble breathing", "cant breathe", [])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    kim = add_staff(staff_server, "clinician", "Nurse Kim")
    log_in(page, staff_server, kim)
    expect(page.locator("#signed-in")).to_have_text("Signed in as Nurse Kim (clinician)")
    expect(page.get_by_role("link", name="Audit trail")).to_be_hidden()  # admins only

    row = page.locator(".ticket-row", has_text="Fever on methotrexate <b>now</b>")
    expect(row).to_be_visible()
    expect(row).to_contain_text("via rest")
    expect(row).not_to_contain_text("39C")  # the list shows no message text
    badges = page.locator(".ticket-row .badge").all_text_contents()
    assert badges[:2] == ["emergency", "urgent"]
    row.click()
    detail = page.locator("#detail")
    expect(page.locator("#detail-message")).to_have_text(MESSAGE)  # shown as text, not markup
    expect(detail).to_contain_text("still hot after paracetamol")
    assert page.title() == "Staff inbox"  # the onerror handler never ran
    expect(row).to_have_attribute("aria-current", "true")

    page.locator("#claim").click()
    expect(page.locator("#detail-meta")).to_contain_text(f"claimed by {kim.username}")  # the account, not typed
    expect(page.locator("#claim")).to_be_disabled()
    page.locator("#resolve").click()
    expect(page.locator("#detail-meta")).to_contain_text("resolved")
    expect(page.locator(".ticket-row", has_text="Fever on methotrexate")).to_have_count(0)
    expect(page.locator(".ticket-row", has_text="Trouble breathing")).to_be_visible()
    assert store.get_ticket(urgent.id).status == "resolved"
    assert errors == []

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Authentication code")).to_be_visible()
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    page.goto(f"{staff_server.base_url}/staff")
    expect(page.locator(".ticket-row")).to_have_count(0)


def test_a_wrong_password_shows_an_error_and_no_tickets(page: Page, staff_server: StaffServer) -> None:
    staff_server.store().create_ticket("browser-3", "rest", "routine", "Missed dose", "forgot", [])
    log_in(page, staff_server, add_staff(staff_server), password="not the password")
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.locator(".ticket-row")).to_have_count(0)
    assert page.context.cookies() == []


def test_without_javascript_the_form_logs_in_and_no_credential_is_in_a_url(
    browser: Browser, staff_server: StaffServer
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        staff = add_staff(staff_server)
        log_in(page, staff_server, staff)
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
        expect(page.get_by_label("Password")).to_have_count(0)
        assert page.url == f"{staff_server.base_url}/staff"
        assert any(url.endswith("/staff/login") for url in urls)
        assert all(staff.password not in unquote(url) for url in urls), urls
        cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
        assert staff.password not in cookie["value"]
        api = context.request.get(f"{staff_server.base_url}/staff/api/tickets")
        assert api.status == 200  # the browser's session works for the API too
    finally:
        context.close()


def test_a_token_in_the_url_is_refused_and_does_not_log_in(page: Page, staff_server: StaffServer) -> None:
    response = page.goto(f"{staff_server.base_url}/staff?token={staff_server.token}")
    assert response is not None and response.status == 400
    assert page.context.cookies() == []
    page.goto(f"{staff_server.base_url}/staff")
    expect(page.get_by_label("Username")).to_be_visible()
    assert page.context.request.get(f"{staff_server.base_url}/staff/api/tickets").status == 401
