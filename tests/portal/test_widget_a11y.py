"""Accessibility of the chat widget on the demo portal: axe-core at WCAG 2.2 AA, keyboard only, live region,
target size, reduced motion and 200% zoom. Runs against the fake bot of widget_support."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from a11y_support import serious_violations, small_targets
from playwright.sync_api import Browser, Page, expect
from widget_support import FakeBot, Portal, serve_fake_bot, start_portal, stop_portal

from bot.ops.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TARGETS = "button, a[href], input"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    port = free_port()
    bot = FakeBot(allowed_origin=f"http://127.0.0.1:{port}")
    server = serve_fake_bot(bot)
    portal = start_portal(port, bot.url, tmp_path_factory.mktemp("a11y") / "portal.log")
    try:
        yield portal
    finally:
        stop_portal(portal)
        server.shutdown()
        server.server_close()


def open_chat(page: Page, portal: Portal) -> None:
    page.goto(portal.url + "/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_label("Message")).to_be_focused()


def ask(page: Page, text: str, reply: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".ecz-msg--bot", has_text=reply)).to_be_visible()


def mid_conversation(page: Page, portal: Portal) -> None:
    """An answer with its source, quick-reply buttons and an urgent handoff card and banner."""
    open_chat(page, portal)
    ask(page, "methotrexate labs", "methotrexate monitoring")
    ask(page, "fever since yesterday", "sent your message to the care team")
    ask(page, "labs?", "Which medicine do you mean?")
    expect(page.get_by_role("button", name="Dupilumab")).to_be_visible()


def test_portal_with_the_widget_open_has_no_serious_violations(page: Page, demo: Portal) -> None:
    open_chat(page, demo)
    assert serious_violations(page) == []


def test_mid_conversation_has_no_serious_violations(page: Page, demo: Portal) -> None:
    mid_conversation(page, demo)
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_an_emergency_handoff_has_no_serious_violations(page: Page, demo: Portal) -> None:
    open_chat(page, demo)
    ask(page, "my child can't breathe", "Call 911 now")
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_keyboard_only_open_type_pick_a_button_close(page: Page, demo: Portal) -> None:
    page.goto(demo.url + "/")
    launcher = page.get_by_role("button", name="Open chat")
    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message")).to_be_focused()
    page.keyboard.type("labs?")
    page.keyboard.press("Enter")
    choice = page.get_by_role("button", name="Methotrexate")
    expect(choice).to_be_visible()
    for _ in range(30):
        if choice.evaluate("el => el.getRootNode().activeElement === el"):
            break
        page.keyboard.press("Shift+Tab")
    expect(choice).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".ecz-msg--bot", has_text="methotrexate monitoring")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_new_messages_go_to_a_polite_log(page: Page, demo: Portal) -> None:
    open_chat(page, demo)
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    ask(page, "hello there", "You said: hello there")
    expect(log).to_contain_text("You said: hello there")


def test_reduced_motion_stops_every_animation_and_transition(browser: Browser, demo: Portal) -> None:
    context = browser.new_context(reduced_motion="reduce")
    try:
        page = context.new_page()
        open_chat(page, demo)
        moving = page.evaluate(
            """() => {
                const all = [];
                const walk = (root) => root.querySelectorAll("*").forEach((el) => {
                    all.push(el);
                    if (el.shadowRoot) walk(el.shadowRoot);
                });
                walk(document);
                return all.filter((el) => {
                    const style = getComputedStyle(el);
                    const seconds = (v) => Math.max(...v.split(",").map((s) => parseFloat(s) || 0));
                    return (style.animationName !== "none" && seconds(style.animationDuration) > 0.01)
                        || seconds(style.transitionDuration) > 0.01;
                }).map((el) => el.className || el.tagName);
            }"""
        )
        assert moving == []
    finally:
        context.close()


def test_200_percent_zoom_keeps_the_panel_usable(browser: Browser, demo: Portal) -> None:
    # 200% zoom of a 1280 x 720 window: 640 x 360 CSS pixels.
    context = browser.new_context(viewport={"width": 640, "height": 360})
    try:
        page = context.new_page()
        mid_conversation(page, demo)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 640
        for name in ("Send", "Close chat", "Dupilumab"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 640, name
        send = page.get_by_role("button", name="Send").bounding_box()
        assert send is not None and send["y"] + send["height"] <= 360
        log = page.get_by_role("log")
        assert log.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert (log.bounding_box() or {"height": 0})["height"] >= 48
    finally:
        context.close()
