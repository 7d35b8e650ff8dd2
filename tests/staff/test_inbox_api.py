"""The inbox API on a real staff server: the list's shape and filters, the detail's "view" audit, notes, reassigning,
and who each action is recorded under (the identity, never the body)."""

from __future__ import annotations

import secrets

import pytest
import requests
from staff_support import StaffServer, acting_session, add_staff

from bot.handoff.audit import entries
from bot.handoff.models import Ticket

pytestmark = pytest.mark.integration

MESSAGE = "my daughter is 39C on methotrexate, call 555-867-5309"


def bearer(server: StaffServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def new_ticket(server: StaffServer, urgency: str = "urgent", channel: str = "rest") -> Ticket:
    transcript = [{"role": "user", "text": MESSAGE}]
    return server.store().create_ticket(f"c-{secrets.token_hex(4)}", channel, urgency, "fever", MESSAGE, transcript)


def actions(server: StaffServer, ticket_id: str) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.detail) for e in reversed(entries(server.store(), ticket_id=ticket_id))]


def test_the_list_has_summaries_a_cursor_and_counts(staff_server: StaffServer) -> None:
    made = [new_ticket(staff_server, "routine", "sms") for _ in range(3)]
    url = f"{staff_server.base_url}/staff/api/tickets?channel=sms&urgency=routine&limit=2"
    first = requests.get(url, headers=bearer(staff_server), timeout=5).json()
    assert set(first) == {"tickets", "next_cursor", "counts"}
    assert first["counts"]["total"] >= 3 and len(first["tickets"]) == 2 and first["next_cursor"]
    assert all(t["channel"] == "sms" and t["urgency"] == "routine" for t in first["tickets"])
    seen = [t["id"] for t in first["tickets"]]
    cursor = first["next_cursor"]
    while cursor:
        page = requests.get(url, params={"cursor": cursor}, headers=bearer(staff_server), timeout=5).json()
        seen += [t["id"] for t in page["tickets"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == first["counts"]["total"]
    assert {t.id for t in made} <= set(seen)
    several = requests.get(
        f"{staff_server.base_url}/staff/api/tickets?urgency=urgent&urgency=emergency&status=all&limit=200",
        headers=bearer(staff_server),
        timeout=5,
    ).json()
    assert {t["urgency"] for t in several["tickets"]} <= {"urgent", "emergency"}
    assert "39C" not in repr(first) and "555-867" not in repr(several)


def test_viewing_a_ticket_is_audited_under_the_viewer(staff_server: StaffServer) -> None:
    made = new_ticket(staff_server)
    by_token = requests.get(f"{staff_server.base_url}/staff/api/tickets/{made.id}", headers=bearer(staff_server))
    kim = add_staff(staff_server, "staff")
    session = acting_session(staff_server, kim)
    by_session = session.get(f"{staff_server.base_url}/staff/api/tickets/{made.id}", timeout=5)
    assert by_token.status_code == by_session.status_code == 200
    assert by_session.json()["message"] == MESSAGE
    assert actions(staff_server, made.id) == [("machine", "view", ""), (kim.username, "view", "")]
    listed = requests.get(f"{staff_server.base_url}/staff/api/tickets", headers=bearer(staff_server), timeout=5)
    assert listed.status_code == 200 and len(actions(staff_server, made.id)) == 2  # a list is not a view


def test_a_note_is_internal_written_by_the_identity_and_audited_without_its_text(staff_server: StaffServer) -> None:
    made = new_ticket(staff_server)
    url = f"{staff_server.base_url}/staff/api/tickets/{made.id}/notes"
    refused = requests.post(url, json={"text": "x"}, headers=bearer(staff_server), timeout=5)
    assert refused.status_code == 403
    kim = add_staff(staff_server, "clinician")
    session = acting_session(staff_server, kim)
    response = session.post(url, json={"text": "Left voicemail", "staff": "Dr Fake"}, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert (body["note"]["staff"], body["note"]["text"]) == (kim.username, "Left voicemail")  # the account's
    assert [(n["staff"], n["text"]) for n in body["ticket"]["notes"]] == [(kim.username, "Left voicemail")]
    assert body["ticket"]["first_action_at"] == body["note"]["created_at"]
    trail = actions(staff_server, made.id)
    assert [(actor, action) for actor, action, _ in trail] == [(kim.username, "note")]
    assert "voicemail" not in repr(trail)
    assert "Left voicemail" not in staff_server.log_text()


def test_reassign_goes_to_an_active_account_and_is_audited_under_the_caller(staff_server: StaffServer) -> None:
    made = new_ticket(staff_server)
    me, kim, lee = add_staff(staff_server), add_staff(staff_server, "staff"), add_staff(staff_server, "clinician")
    session, url = acting_session(staff_server, me), f"{staff_server.base_url}/staff/api/tickets/{made.id}/reassign"
    assert requests.post(url, json={"to": kim.username}, headers=bearer(staff_server), timeout=5).status_code == 403
    first = session.post(url, json={"to": kim.username.upper()}, timeout=5)  # usernames are case-insensitive
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["claimed_by"]) == ("claimed", kim.username)
    store = staff_server.store()
    with store._tx() as c:
        c.run(
            "INSERT INTO staff_accounts (username, display_name, role, password_hash, totp_secret, disabled, "
            "created_at) VALUES ('old', 'Old', 'staff', 'x', 'x', 1, ?) ON CONFLICT (username) DO NOTHING",
            (store.clock(),),
        )
    for name in ("old", "nobody"):
        refused = session.post(url, json={"to": name}, timeout=5)
        assert refused.status_code == 400 and refused.json()["error"] == "unknown_staff"
    second = session.post(url, json={"to": lee.username}, timeout=5)
    assert second.status_code == 200 and second.json()["claimed_by"] == lee.username
    assert actions(staff_server, made.id) == [
        (me.username, "reassign", f"from=- to={kim.username}"),
        (me.username, "reassign", f"from={kim.username} to={lee.username}"),
    ]
    mine = acting_session(staff_server, lee).get(
        f"{staff_server.base_url}/staff/api/tickets?status=active&assigned=me&limit=200", timeout=5
    )
    assert made.id in [t["id"] for t in mine.json()["tickets"]]
    session.post(f"{staff_server.base_url}/staff/api/tickets/{made.id}/resolve", timeout=5)
    assert session.post(url, json={"to": lee.username}, timeout=5).status_code == 409


def test_claim_and_resolve_are_audited_and_assigned_me_finds_mine(staff_server: StaffServer) -> None:
    made = new_ticket(staff_server, "emergency")
    kim = add_staff(staff_server, "staff")
    session, base = acting_session(staff_server, kim), f"{staff_server.base_url}/staff/api/tickets"
    assert session.post(f"{base}/{made.id}/claim", json={"staff": "Dr Fake"}, timeout=5).status_code == 200
    mine = [t["id"] for t in session.get(f"{base}?status=claimed&assigned=me&limit=200", timeout=5).json()["tickets"]]
    unassigned = session.get(f"{base}?status=active&assigned=unassigned&limit=200", timeout=5).json()["tickets"]
    assert made.id in mine and made.id not in [t["id"] for t in unassigned]
    assert session.post(f"{base}/{made.id}/resolve", timeout=5).status_code == 200
    assert actions(staff_server, made.id) == [(kim.username, "claim", ""), (kim.username, "resolve", "")]
    assert all(e.remote == "127.0.0.1" for e in entries(staff_server.store(), ticket_id=made.id))
