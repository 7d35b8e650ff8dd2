"""The inbox page in Chromium: filters with true counts, paging with "Show more", notes, reassigning, and the reply
box's errors shown to staff. The page is driven by the ids documented at the top of bot/staff/static/staff.js."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Route, expect
from staff_support import Staff, StaffServer, add_staff

from bot.handoff.inbox import Filters, list_page
from bot.handoff.models import Ticket
from bot.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.browser]

MESSAGE = "rash spreading fast on dupilumab"


def log_in(page: Page, server: StaffServer, staff: Staff | None = None) -> list[str]:
    """Sign in through the form (as `staff`, or a new staff account); the page's script errors are collected."""
    staff = staff or add_staff(server, "staff")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.base_url}/staff")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_label("Authentication code").fill(staff.code())
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#counts")).to_contain_text("ticket(s)")
    return errors


def make(server: StaffServer, urgency: str, channel: str, reason: str) -> Ticket:
    return server.store().create_ticket(f"b-{reason}", channel, urgency, reason, MESSAGE, [])


def row(page: Page, ticket: Ticket):  # noqa: ANN201
    return page.locator(f'.ticket-row[data-id="{ticket.id}"]')


def counted(total: int) -> re.Pattern[str]:
    return re.compile(rf"^{total} ticket\(s\) · ")


def true_total(server: StaffServer, **filters: object) -> int:
    page = list_page(server.store(), Settings.from_env({}), Filters(**filters), limit=1)  # type: ignore[arg-type]
    return int(page.counts["total"])


def test_pages_of_fifty_with_show_more_and_the_true_count(page: Page, staff_server: StaffServer) -> None:
    store = staff_server.store()
    with store._tx() as c:
        for n in range(120):
            store._insert_ticket(c, store._new_ticket(f"p-{n}", "rest", "routine", f"paged {n}", MESSAGE, []), False)
    urgent = make(staff_server, "urgent", "sms", "newest urgent")
    errors = log_in(page, staff_server)
    total = true_total(staff_server, status="active")
    assert total >= 121
    expect(page.locator("#counts")).to_have_text(counted(total))
    expect(page.locator(".ticket-row")).to_have_count(50)
    expect(page.locator(".ticket-row").first).to_have_attribute("data-id", urgent.id)
    shown = 50
    while shown < total:
        page.locator("#more").click()
        shown = min(total, shown + 50)
        expect(page.locator(".ticket-row")).to_have_count(shown)
    expect(page.locator("#more")).to_be_hidden()
    expect(page.locator("#list-end")).to_have_text(f"Showing {total} of {total}.")
    ids = page.locator(".ticket-row").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert len(set(ids)) == total
    assert errors == []


def test_filters_narrow_the_list_and_its_counts(page: Page, staff_server: StaffServer) -> None:
    emergency = make(staff_server, "emergency", "sms", "filter emergency")
    web = make(staff_server, "urgent", "web", "filter web urgent")
    log_in(page, staff_server)
    page.locator("#f-emergency").check()
    emergencies = true_total(staff_server, status="active", urgencies=("emergency",))
    expect(page.locator("#counts")).to_have_text(counted(emergencies))
    expect(row(page, emergency)).to_be_visible()
    expect(row(page, web)).to_have_count(0)
    badges = page.locator(".ticket-row .badge").all_text_contents()
    assert badges and set(badges) == {"emergency"}
    page.locator("#f-emergency").uncheck()
    page.locator("#f-channel").select_option("web")
    expected = true_total(staff_server, status="active", channel="web")
    expect(page.locator("#counts")).to_have_text(counted(expected))
    expect(row(page, web)).to_be_visible()
    expect(row(page, emergency)).to_have_count(0)
    page.locator("#f-channel").select_option("")
    page.locator("#f-older").fill("1")
    page.locator("#f-apply").click()
    expect(page.locator("#counts")).to_have_text(counted(0))  # everything here is minutes old
    expect(page.locator(".ticket-row")).to_have_count(0)


def test_a_note_a_reassign_and_the_claim_show_on_the_ticket(page: Page, staff_server: StaffServer) -> None:
    made = make(staff_server, "emergency", "rest", "note target")
    me, kim = add_staff(staff_server, "clinician"), add_staff(staff_server, "staff")
    log_in(page, staff_server, me)
    row(page, made).click()
    expect(page.locator("#detail-title")).to_have_text("note target")
    expect(page.locator("#detail-timing")).to_contain_text("target 15 minutes")
    page.locator("#note-text").fill("Called, no answer <b>yet</b>")
    page.locator("#note-add").click()
    expect(page.locator("#notes")).to_contain_text(f"{me.username}: Called, no answer <b>yet</b>")
    expect(page.locator("#note-text")).to_have_value("")
    expect(page.locator("#detail-timing")).to_contain_text("First action after")
    notes = [(n["staff"], n["text"]) for n in _detail(staff_server, made.id)["notes"]]
    assert notes == [(me.username, "Called, no answer <b>yet</b>")]  # the author is the signed-in account
    page.locator("#reassign-to").fill(kim.username)
    page.locator("#reassign").click()
    expect(page.locator("#detail-meta")).to_contain_text(f"claimed by {kim.username}")
    expect(page.locator("#status")).to_contain_text(f"Reassigned to {kim.username}")
    assert staff_server.store().get_ticket(made.id).claimed_by == kim.username


def test_an_overdue_ticket_is_marked(page: Page, staff_server: StaffServer) -> None:
    store = staff_server.store()
    made = make(staff_server, "emergency", "sms", "long wait")
    with store._tx() as c:
        c.run("UPDATE handoff_tickets SET created_at = ? WHERE id = ?", (made.created_at.replace(year=2025), made.id))
    log_in(page, staff_server)
    expect(row(page, made)).to_have_class(re.compile(r"\boverdue\b"))
    expect(row(page, made)).to_contain_text("Overdue")


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (409, {"error": "no_way_back", "message": "x"}, "No way to reply in this channel: call the clinic number"),
        (502, {"error": "send_failed", "message": "Twilio refused the message."}, "Sending failed: Twilio refused"),
        (409, {"error": "opted_out", "message": "x"}, "opted out of text messages"),
    ],
)
def test_the_reply_box_shows_why_a_reply_did_not_go(
    page: Page, staff_server: StaffServer, status: int, body: dict[str, str], shown: str
) -> None:
    made = make(staff_server, "urgent", "web", f"reply {status} {body['error']}")
    sent: list[dict[str, str]] = []

    def fake_reply(route: Route) -> None:  # the reply API is another module's; its errors are what matters here
        sent.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r".*/staff/api/tickets/[^/]+/reply$"), fake_reply)
    log_in(page, staff_server)
    row(page, made).click()
    page.locator("#reply-send").click()
    expect(page.locator("#reply-status")).to_have_text("Write the reply first.")
    page.locator("#reply-text").fill("Please call us at the clinic.")
    page.locator("#reply-send").click()
    expect(page.locator("#reply-status")).to_contain_text(shown)
    assert sent == [{"text": "Please call us at the clinic."}]
    expect(page.locator("#reply-text")).to_have_value("Please call us at the clinic.")  # kept for another try


def _detail(server: StaffServer, ticket_id: str) -> dict[str, object]:
    from bot.handoff.inbox import ticket_detail

    return ticket_detail(server.store(), Settings.from_env({}), ticket_id)
