"""The content-gaps route of the staff API and its page."""

from __future__ import annotations

import pytest
import requests
from staff_support import StaffServer

from bot.handoff.gaps import Gap, record_gap

pytestmark = pytest.mark.integration


def auth(server: StaffServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic c3RhZmY6c3RhZmY="}],
    ids=["missing", "wrong", "basic"],
)
def test_gaps_need_the_staff_login(staff_server: StaffServer, headers: dict[str, str]) -> None:
    record_gap(staff_server.store(), Gap("azathioprine", "sun sensitivity", "not_covered"))
    resp = requests.get(f"{staff_server.base_url}/staff/api/gaps", headers=headers, timeout=5)
    assert resp.status_code == 401
    assert "azathioprine" not in resp.text


def test_gaps_list_counts_per_medicine_most_asked_first(staff_server: StaffServer) -> None:
    store = staff_server.store()
    for _ in range(3):
        record_gap(store, Gap("tralokinumab", "travel", "not_covered"))
    record_gap(store, Gap("tralokinumab", "pregnancy", "no_fact"))
    resp = requests.get(f"{staff_server.base_url}/staff/api/gaps?days=30", headers=auth(staff_server), timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    data = resp.json()
    assert data["days"] == 30
    tralo = next(m for m in data["medicines"] if m["drug"] == "tralokinumab")
    assert tralo["total"] == 4
    assert tralo["aspects"] == [
        {"drug": "tralokinumab", "aspect": "travel", "reason": "not_covered", "count": 3},
        {"drug": "tralokinumab", "aspect": "pregnancy", "reason": "no_fact", "count": 1},
    ]


@pytest.mark.parametrize("days", ["0", "-3", "abc", "99999"])
def test_a_bad_window_is_refused(staff_server: StaffServer, days: str) -> None:
    resp = requests.get(f"{staff_server.base_url}/staff/api/gaps?days={days}", headers=auth(staff_server), timeout=5)
    assert resp.status_code == 400 and resp.json()["error"] == "bad_request"


def test_the_gaps_page_is_served_without_data_and_with_the_staff_csp(staff_server: StaffServer) -> None:
    resp = requests.get(f"{staff_server.base_url}/staff/gaps", timeout=5)
    assert resp.status_code == 200
    assert "frame-ancestors 'none'" in resp.headers.get("Content-Security-Policy", "")
    assert "/staff/static/gaps.js" in resp.text and "tralokinumab" not in resp.text
    script = requests.get(f"{staff_server.base_url}/staff/static/gaps.js", timeout=5)
    assert script.status_code == 200 and "/staff/api/gaps" in script.text and "innerHTML" not in script.text
