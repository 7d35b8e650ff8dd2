"""A care-team reply in the signed-in widget, in Debian's Chromium: the staff app serves the portal and
/portal/messages, a fake bot answers the chat. The reply shows, named and marked unread, on another device of the
same portal login, and on the first one when it opens again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from a11y_support import serious_violations
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from widget_support import FakeBot, serve_fake_bot, wait_until

from bot.portal.token import DEMO_COOKIE
from tests.staff.staff_support import StaffServer, log_in, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.browser]

JWT_SECRET = "care-team-browser-jwt-secret-0123456789"
REPLY = "We read your message. Please come in tomorrow at 9 for a blood test."


@dataclass
class Stack:
    server: StaffServer
    bot: FakeBot


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    bot = FakeBot(allowed_origin="", jwt_secret=JWT_SECRET)
    bot_server = serve_fake_bot(bot)
    env = {"WIDGET_BOT_URL": bot.url, "WEB_JWT_SECRET": JWT_SECRET, "CLINIC_PHONE": "555-0100"}
    server = start_server(tmp_path_factory.mktemp("care"), secrets.token_urlsafe(24), env=env)
    bot.allowed_origin = server.base_url  # the widget's requests to the bot come from the staff app's page
    try:
        yield Stack(server, bot)
    finally:
        stop_server(server.process)
        bot_server.shutdown()
        bot_server.server_close()


def problems_of(page: Page) -> list[str]:
    found: list[str] = []

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error" or "Content Security Policy" in msg.text:
            found.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: found.append(str(exc)))
    return found


def staff_reply(server: StaffServer, ticket_id: str, text: str) -> None:
    resp = log_in(server).post(
        f"{server.base_url}/staff/api/tickets/{ticket_id}/reply",
        json={"text": text},
        headers={"X-Staff-CSRF": "1"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text


def test_the_care_team_reply_shows_on_any_device_with_an_unread_badge(browser: Browser, stack: Stack) -> None:
    first = browser.new_context()
    page = first.new_page()
    problems = problems_of(page)
    page.goto(stack.server.base_url + "/")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Message").fill("my son has a fever")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".ecz-msg--bot", has_text="sent your message to the care team")).to_be_visible()
    wait_until(lambda: bool(stack.bot.senders()), what="the turn")
    sub = stack.bot.senders()[-1]
    ticket = stack.server.store().create_ticket(f"web:{sub}", "web", "urgent", "fever", "my son has a fever", [])
    staff_reply(stack.server, ticket.id, REPLY)

    # Another device of the same portal login: the portal's session cookie, nothing of the widget's storage.
    (cookie,) = [c for c in first.cookies() if c["name"] == DEMO_COOKIE]
    second = browser.new_context()
    second.add_cookies([cookie])
    other = second.new_page()
    other_problems = problems_of(other)
    other.goto(stack.server.base_url + "/")
    launcher = other.get_by_role("button", name="Open chat, 1 new message from your care team")
    expect(launcher).to_be_visible()
    expect(other.locator(".ecz-badge")).to_have_text("1")
    assert stack.server.store().get_ticket(ticket.id).replies[0].read_at is None  # not read until shown
    launcher.click()
    message = other.get_by_role("article", name="Message from Your care team")
    expect(message).to_contain_text(REPLY)
    expect(message).to_contain_text("Your care team")
    expect(other.locator(".ecz-log")).to_have_attribute("aria-live", "polite")
    wait_until(lambda: stack.server.store().get_ticket(ticket.id).replies[0].read_at is not None, what="read")
    assert other_problems == []  # (before axe, whose injected script the page's CSP rightly refuses styles)
    assert serious_violations(other) == []
    other.get_by_role("button", name="Close chat").click()
    expect(other.locator(".ecz-badge")).to_be_hidden()
    expect(other.get_by_role("button", name="Open chat", exact=True)).to_be_visible()

    # The first device sees it when the chat opens again (here: after a reload), already read.
    page.reload()
    expect(page.get_by_role("article", name="Message from Your care team")).to_contain_text(REPLY)
    expect(page.locator(".ecz-badge")).to_be_hidden()
    assert page.locator(".ecz-msg--care").count() == 1  # shown once, not again per fetch
    assert problems == []
    first.close()
    second.close()
