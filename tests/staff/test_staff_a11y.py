"""Accessibility of the staff pages (login, inbox with a ticket open, content gaps, dashboard): axe-core at WCAG 2.2
AA."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from staff_support import StaffServer, add_staff

from bot.handoff.gaps import Gap, record_gap
from bot.handoff.outcomes import record_outcome

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "portal"))
from a11y_support import serious_violations, small_targets  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TARGETS = "button, input, select, textarea"


def log_in(page: Page, server: StaffServer) -> None:
    page.goto(f"{server.base_url}/staff")
    assert serious_violations(page) == []
    staff = add_staff(server)
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_label("Authentication code").fill(staff.code())
    page.get_by_role("button", name="Log in").click()
    page.locator("#signed-in").get_by_text("Signed in as").wait_for()


def test_login_page_has_no_serious_violations(page: Page, staff_server: StaffServer) -> None:
    page.goto(f"{staff_server.base_url}/staff")
    expect(page.get_by_label("Authentication code")).to_be_visible()
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_inbox_with_a_ticket_has_no_serious_violations(page: Page, staff_server: StaffServer) -> None:
    transcript = [{"role": "user", "text": "fever on methotrexate"}, {"role": "bot", "text": "Sent to the team."}]
    staff_server.store().create_ticket("a11y-1", "rest", "urgent", "Fever on methotrexate", "fever", transcript)
    log_in(page, staff_server)
    expect(page.get_by_text("Fever on methotrexate").first).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_text("Fever on methotrexate").first.click()
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_audit_page_has_no_serious_violations(page: Page, staff_server: StaffServer) -> None:
    log_in(page, staff_server)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("cell", name="login").first).to_be_visible()
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_gaps_page_has_no_serious_violations(page: Page, staff_server: StaffServer) -> None:
    record_gap(staff_server.store(), Gap("tralokinumab", "travel", "not_covered"))
    log_in(page, staff_server)
    page.goto(f"{staff_server.base_url}/staff/gaps")
    expect(page.get_by_text("tralokinumab").first).to_be_visible()
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []


def test_dashboard_has_no_serious_violations(page: Page, staff_server: StaffServer) -> None:
    store = staff_server.store()
    record_outcome(store, "a11y-conv", "answered")
    store.create_ticket("a11y-2", "sms", "emergency", "Trouble breathing", "cant breathe", [])
    record_gap(store, Gap("dupilumab", "costs and insurance", "not_covered"))
    log_in(page, staff_server)
    page.goto(f"{staff_server.base_url}/staff/dashboard")
    expect(page.get_by_role("heading", name="Conversations by outcome")).to_be_visible()
    expect(page.get_by_role("img", name="Handoffs per day by urgency")).to_be_visible()
    assert serious_violations(page) == []
    for summary in page.locator("summary").all():
        summary.click()  # the data tables too
    expect(page.locator("#table-handoffs")).to_be_visible()
    assert serious_violations(page) == []
    assert small_targets(page, TARGETS) == []
