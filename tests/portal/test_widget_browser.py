"""The chat widget in headless Debian Chromium, on the demo portal page, against a fake bot on another origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Locator, Page, expect
from widget_support import (
    MTX_SOURCE,
    FakeBot,
    Portal,
    serve_fake_bot,
    start_portal,
    stop_portal,
    wait_until,
)

from bot.ops.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]

XSS = "<img src=x onerror=alert(1)>"
JWT_SECRET = "browser-test-jwt-secret-0123456789abcdef"


def start(tmp: Path, jwt_secret: str = "") -> Iterator[tuple[Portal, FakeBot]]:
    port = free_port()
    bot = FakeBot(allowed_origin=f"http://127.0.0.1:{port}", jwt_secret=jwt_secret)
    server = serve_fake_bot(bot)
    portal = start_portal(port, bot.url, tmp / "portal.log", jwt_secret)
    try:
        yield portal, bot
    finally:
        stop_portal(portal)
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Portal, FakeBot]]:
    yield from start(tmp_path_factory.mktemp("portal"))


@pytest.fixture(scope="module")
def signed_in_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Portal, FakeBot]]:
    yield from start(tmp_path_factory.mktemp("portal-jwt"), JWT_SECRET)


class Watch:
    """Console CSP violations, page errors and dialogs (a dialog would mean injected script ran)."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("dialog", self._dialog)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" or "Content Security Policy" in msg.text:
            self.problems.append(msg.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def open_chat(page: Page, portal: Portal) -> Watch:
    watch = Watch(page)
    page.goto(portal.url + "/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_label("Message")).to_be_focused()
    return watch


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def bot_says(page: Page, text: str) -> Locator:
    return page.locator(".ecz-msg--bot", has_text=text)


def test_ask_and_see_the_answer_with_its_source(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, bot = demo
    watch = open_chat(page, portal)
    expect(page.get_by_role("dialog")).to_contain_text("not medical advice")

    ask(page, "does methotrexate need labs?")

    expect(bot_says(page, "methotrexate monitoring")).to_be_visible()
    expect(page.get_by_text(f"From: {MTX_SOURCE}")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value("")
    assert bot.texts()[-1] == "does methotrexate need labs?"
    assert watch.problems == []


def test_quick_replies_show_the_title_and_send_the_payload(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, bot = demo
    open_chat(page, portal)
    ask(page, "what labs are needed?")
    replies = page.get_by_role("group", name="Suggested replies")
    expect(replies.get_by_role("button")).to_have_count(2)

    replies.get_by_role("button", name="Methotrexate").click()

    expect(page.locator(".ecz-msg--user", has_text="Methotrexate")).to_be_visible()
    expect(page.get_by_text(f"From: {MTX_SOURCE}")).to_be_visible()
    expect(replies).to_have_count(0)
    assert bot.texts()[-1] == '/inform_drug{"drug":"methotrexate"}'


def test_typing_indicator_while_the_bot_thinks(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, bot = demo
    open_chat(page, portal)
    bot.release.clear()

    ask(page, "slow")

    expect(page.get_by_role("status").filter(has_text="The assistant is typing")).to_have_count(1)
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    bot.release.set()
    expect(bot_says(page, "You said: slow")).to_be_visible()
    expect(page.get_by_text("The assistant is typing")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_when_the_bot_fails_the_widget_says_whom_to_call(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, _ = demo
    open_chat(page, portal)

    ask(page, "crash")

    note = page.locator(".ecz-note").last
    expect(note).to_contain_text("555-0100")
    expect(note).to_contain_text("911")


def test_a_handoff_shows_its_own_state_and_an_emergency_shows_911_large(
    page: Page, demo: tuple[Portal, FakeBot]
) -> None:
    portal, _ = demo
    watch = open_chat(page, portal)

    ask(page, "my son has a fever on methotrexate")
    card = page.locator(".ecz-log .ecz-handoff")
    expect(card).to_contain_text("Urgent")
    expect(card.get_by_role("link", name="555-0100")).to_have_attribute("href", "tel:5550100")
    expect(page.get_by_role("status").filter(has_text="Urgent")).to_be_visible()  # banner above the log

    ask(page, "he can't breathe")
    call = page.locator(".ecz-log .ecz-handoff--emergency").get_by_role("link", name="Call 911")
    expect(call).to_have_attribute("href", "tel:911")
    expect(page.get_by_role("alert")).to_contain_text("Call 911")
    assert float(call.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 28
    assert watch.problems == []


def test_the_conversation_survives_a_reload(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, bot = demo
    open_chat(page, portal)
    ask(page, "hello there")
    expect(bot_says(page, "You said: hello there")).to_be_visible()
    ask(page, "does methotrexate need labs?")
    expect(page.get_by_text(f"From: {MTX_SOURCE}")).to_be_visible()

    page.reload()

    expect(page.get_by_role("log")).to_contain_text("You said: hello there")
    expect(page.get_by_text(f"From: {MTX_SOURCE}")).to_be_visible()
    ask(page, "still me")
    expect(bot_says(page, "You said: still me")).to_be_visible()
    senders = bot.senders()[-3:]
    assert len(set(senders)) == 1  # the same session before and after the reload


def test_html_typed_by_the_user_is_shown_as_text_and_runs_nothing(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, _ = demo
    watch = open_chat(page, portal)

    ask(page, XSS)

    expect(page.locator(".ecz-msg--user .ecz-text").last).to_have_text(XSS)
    expect(bot_says(page, f"You said: {XSS}")).to_be_visible()
    assert page.locator("img").count() == 0
    page.reload()
    expect(page.locator(".ecz-msg--user .ecz-text").last).to_have_text(XSS)
    assert page.locator("img").count() == 0
    assert watch.dialogs == []


def test_keyboard_only_use_with_visible_focus(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, _ = demo
    page.goto(portal.url + "/")
    launcher = page.get_by_role("button", name="Open chat")

    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    assert launcher.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message")).to_be_focused()
    page.keyboard.type("hello keyboard")
    page.keyboard.press("Enter")
    expect(bot_says(page, "You said: hello keyboard")).to_be_visible()
    page.keyboard.press("Escape")

    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_screen_reader_labels_and_live_region(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, _ = demo
    open_chat(page, portal)

    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("dialog", name="Medicine questions")).to_be_visible()
    expect(page.get_by_role("button", name="Close chat")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_phone_width_uses_the_whole_screen(browser: Browser, demo: tuple[Portal, FakeBot]) -> None:
    portal, _ = demo
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_chat(page, portal)
        box = page.get_by_role("dialog").bounding_box()
        assert box is not None and box["width"] == 360 and box["height"] == 640
        send = page.get_by_role("button", name="Send").bounding_box()
        assert send is not None and send["x"] + send["width"] <= 360
    finally:
        context.close()


def test_the_demo_page_has_a_strict_csp(page: Page, demo: tuple[Portal, FakeBot]) -> None:
    portal, bot = demo
    response = page.goto(portal.url + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]

    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert re.search(rf"connect-src 'self' {re.escape(bot.url)}(;|$)", csp)
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.text())  # no inline script on the page


def test_with_a_portal_token_the_widget_signs_in_and_keeps_its_subject(
    page: Page, signed_in_demo: tuple[Portal, FakeBot]
) -> None:
    portal, bot = signed_in_demo
    watch = open_chat(page, portal)

    ask(page, "hello")
    expect(bot_says(page, "You said: hello")).to_be_visible()
    page.reload()
    ask(page, "again")
    expect(bot_says(page, "You said: again")).to_be_visible()

    wait_until(lambda: len(bot.senders()) >= 2, what="two turns")
    first, second = bot.senders()[-2:]
    assert first == second and first.startswith("demo-")
    assert watch.problems == []
