"""The real stack in Debian's Chromium: the demo portal's chat widget, and the staff inbox resolving a ticket
that was created through the REST channel."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from bot.ops.stack import Stack
from tests.e2e.conftest import STAFF_TOKEN, Chat, add_staff, customs

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def test_widget_answers_with_its_source_hands_off_survives_reload_and_escapes_html(page: Page, stack: Stack) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(stack.staff_url + "/")
    page.get_by_role("button", name="Open chat").click()

    ask(page, "how is methotrexate given?")
    expect(page.locator(".ecz-msg--bot", has_text="once a week")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^From: .*Methotrexate", re.I)).first).to_be_visible()

    ask(page, "my son has had a fever of 103 since last night on methotrexate")
    expect(page.locator(".ecz-log .ecz-handoff")).to_contain_text(re.compile("urgent|emergency", re.I))

    page.reload()
    expect(page.get_by_role("log")).to_contain_text("once a week")

    xss = "<img src=x onerror=alert(1)>"
    ask(page, xss)
    expect(page.locator(".ecz-msg--user", has_text=xss)).to_be_visible()
    assert dialogs == []


def test_staff_logs_in_sees_a_ticket_from_the_rest_channel_and_resolves_it(page: Page, stack: Stack) -> None:
    chat = Chat(stack)
    handoff = customs(chat.send("my daughter took a whole bottle of her azathioprine"))[0]
    assert handoff["kind"] == "handoff" and handoff["urgency"] == "emergency"

    staff = add_staff(stack)
    page.goto(stack.staff_url + "/staff")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_label("Authentication code").fill(staff.code())
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#signed-in")).to_have_text(f"Signed in as {staff.name} (clinician)")
    row = page.locator(f'.ticket-row[data-id="{handoff["ticket_id"]}"]')
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#detail-message")).to_contain_text("whole bottle of her azathioprine")
    page.locator("#resolve").click()
    expect(row).to_have_count(0)

    api = f"{stack.staff_url}/staff/api/tickets?status=resolved&limit=200"
    tickets = requests.get(api, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, timeout=10).json()["tickets"]
    assert handoff["ticket_id"] in [t["id"] for t in tickets]
