"""The handoff loop closed, in Debian's Chromium against the real stack (issue 13's "Done when").

An SMS safety message becomes a ticket; a staff member signs in with password and TOTP, opens, claims and replies;
the fake Twilio Messages endpoint receives exactly one authenticated message to the sender's number; the audit trail
shows the view, the claim and the reply under that person's name. The same for a signed-in widget user, whose next
widget open shows the care team's reply (unread until shown, then read on another device too); the dashboard shows
this run's figures, equal to the database's. The number is unreadable in the database file,
absent from every log, and gone after the purge.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from bot.ops.stack import Stack
from tests.e2e.conftest import STAFF_TOKEN, StaffLogin, add_staff
from tests.e2e.test_sms import post, twilio_signature
from tests.fake_twilio import FakeTwilio

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PHONE = "+15557654321"
MACHINE = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def newest_ticket(stack: Stack, channel: str, since: float) -> dict[str, Any]:
    url = f"{stack.staff_url}/staff/api/tickets"
    for _ in range(100):
        listing = requests.get(url, params={"status": "all", "channel": channel}, headers=MACHINE, timeout=10).json()
        fresh = [t for t in listing["tickets"] if datetime.fromisoformat(t["created_at"]).timestamp() >= since - 1]
        if fresh:
            return max(fresh, key=lambda t: t["created_at"])
        time.sleep(0.2)
    raise AssertionError(f"no new {channel} ticket")


def sign_in(page: Page, stack: Stack, who: StaffLogin) -> None:
    page.goto(stack.staff_url + "/staff")
    page.get_by_label("Username").fill(who.username)
    page.get_by_label("Password").fill(who.password)
    page.get_by_label("Authentication code").fill(who.code())
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#signed-in")).to_contain_text(who.name)


def claim_and_reply(page: Page, ticket_id: str, text: str, channel: str) -> None:
    page.locator("#f-channel").select_option(channel)  # other tests' tickets may fill the first page
    page.locator("#f-apply").click()
    page.locator(f'.ticket-row[data-id="{ticket_id}"]').click()
    expect(page.locator("#detail-title")).to_be_visible()
    page.locator("#claim").click()
    expect(page.locator("#detail-meta")).to_contain_text(re.compile("claimed", re.I))
    page.locator("#reply-text").fill(text)
    page.locator("#reply-send").click()
    expect(page.locator("#replies")).to_contain_text(text)


def audit_actions(page: Page, stack: Stack, admin: StaffLogin, ticket_id: str) -> set[tuple[str, str]]:
    sign_in(page, stack, admin)
    page.goto(stack.staff_url + "/staff/audit")
    page.get_by_label(re.compile("ticket", re.I)).fill(ticket_id)
    page.get_by_role("button", name=re.compile("show|filter|search|apply", re.I)).click()
    expect(page.locator("table tbody tr").first).to_be_visible()
    found = set()
    for row in page.locator("table tbody tr").all():
        cells = [c.strip() for c in row.locator("th, td").all_text_contents()]
        found.update((cell, other) for cell in cells for other in cells if cell != other)
    return found


def db_rows(stack: Stack, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.env["HANDOFF_DB_PATH"]) as conn:
        return conn.execute(sql, params).fetchall()


def test_sms_ticket_is_answered_by_text_and_audited(browser: Browser, stack: Stack, twilio: FakeTwilio) -> None:
    nurse, admin = add_staff(stack, "staff", "Nurse Kim"), add_staff(stack, "admin", "Admin Lee")
    twilio.clear()
    since = time.time()
    body = "my son has a fever of 103 since last night on methotrexate"
    params = {"From": PHONE, "To": twilio.from_number, "Body": body, "MessageSid": "SM" + "a" * 32}
    url = f"{stack.rasa_url}/webhooks/sms/webhook"
    resp = post(stack, params, twilio_signature(url, params, twilio.auth_token))
    assert resp.status_code == 200 and "<Message>" in resp.text
    ticket = newest_ticket(stack, "sms", since)
    assert ticket["urgency"] == "urgent"

    staff_page = browser.new_context().new_page()
    sign_in(staff_page, stack, nurse)
    reply = "This is the clinic. Please call us at 555-0100 this morning about the fever."
    claim_and_reply(staff_page, ticket["id"], reply, "sms")

    sent = twilio.received()
    assert len(sent) == 1
    assert sent[0].auth_ok and sent[0].to == PHONE and sent[0].from_ == twilio.from_number and sent[0].body == reply

    actions = audit_actions(browser.new_context().new_page(), stack, admin, ticket["id"])
    for action in ("view", "claim", "reply"):
        assert (action, nurse.username) in actions, actions

    digits = PHONE.lstrip("+").encode()
    db = Path(stack.env["HANDOFF_DB_PATH"])
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            assert digits not in path.read_bytes() and PHONE[2:].encode() not in path.read_bytes()
    for log in Path(stack.log_dir).rglob("*"):
        if log.is_file():
            assert PHONE[2:] not in log.read_text(errors="replace"), log

    # `make purge` removes the ticket (RETENTION_DAYS=0: everything up to now), and with it the sealed number
    assert db_rows(stack, "SELECT COUNT(*) FROM ticket_contacts WHERE ticket_id = ?", (ticket["id"],)) == [(1,)]
    done = stack.run_tool("bot.ops.purge", "--days", "0")
    assert done.returncode == 0, done.stderr
    assert db_rows(stack, "SELECT COUNT(*) FROM ticket_contacts WHERE ticket_id = ?", (ticket["id"],)) == [(0,)]
    assert db_rows(stack, "SELECT COUNT(*) FROM handoff_tickets WHERE id = ?", (ticket["id"],)) == [(0,)]


def test_signed_in_widget_user_sees_the_care_team_reply_on_any_device_and_the_dashboard_matches(
    browser: Browser, stack: Stack, twilio: FakeTwilio
) -> None:
    nurse = add_staff(stack, "clinician", "Dr Rivera")
    patient_context = browser.new_context()
    patient = patient_context.new_page()
    patient.goto(stack.staff_url + "/")
    patient.get_by_role("button", name="Open chat").click()
    since = time.time()
    box = patient.get_by_label("Message")
    box.fill("my daughter got hives after her dupixent shot today")
    box.press("Enter")
    expect(patient.locator(".ecz-log .ecz-handoff")).to_be_visible()
    ticket = newest_ticket(stack, "web", since)
    patient.close()

    staff_page = browser.new_context().new_page()
    sign_in(staff_page, stack, nurse)
    reply = "Dr Rivera here: please send us a photo through the portal and keep her on an antihistamine."
    claim_and_reply(staff_page, ticket["id"], reply, "web")
    assert twilio.received() == [] or all(m.body != reply for m in twilio.received())

    # the next open, in this browser and on another device signed in as the same patient
    other_device = browser.new_context()
    other_device.add_cookies(patient_context.cookies())
    for context in (patient_context, other_device):
        page = context.new_page()
        page.goto(stack.staff_url + "/")
        if context is patient_context:  # unread until shown once; then read on every device
            expect(page.locator(".ecz-launcher--unread")).to_be_visible(timeout=60_000)
        page.get_by_role("button", name=re.compile("Open chat")).click()
        expect(page.locator(".ecz-msg--care", has_text=reply)).to_be_visible()
        expect(page.locator(".ecz-msg--care").first).to_contain_text("care team")
        page.close()

    # the dashboard shows this run's figures, equal to the database's
    staff_page.goto(stack.staff_url + "/staff/dashboard?days=1")
    today = datetime.now(timezone.utc).date().isoformat()
    row = staff_page.locator("#table-handoffs tr", has_text=today)
    cells = [c.strip() for c in row.locator("th, td").all_text_contents()]
    by_urgency = dict(
        db_rows(stack, "SELECT urgency, COUNT(*) FROM handoff_tickets WHERE created_at >= ? GROUP BY urgency", (today,))
    )
    assert cells[1:4] == [str(by_urgency.get(u, 0)) for u in ("emergency", "urgent", "routine")]
    assert int(cells[4]) >= 1
    row = staff_page.locator("#table-conversations tr", has_text=today)
    total = row.locator("th, td").all_text_contents()[-1].strip()
    conversations = db_rows(
        stack, "SELECT COUNT(DISTINCT conversation) FROM conversation_outcomes WHERE day = ?", (today,)
    )
    assert int(total) == conversations[0][0] >= 1
