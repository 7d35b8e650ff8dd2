"""The dashboard: its JSON figures equal direct SQL counts, its page renders the same figures as SVG charts with
data tables, behind the login, with no script; the chart helpers escape what they draw."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
import requests
from staff_support import StaffServer, add_staff, log_in

from bot.handoff.gaps import Gap, record_gap
from bot.handoff.inbox import add_note
from bot.handoff.outcomes import record_outcome
from bot.handoff.store import HandoffStore
from bot.staff import charts
from bot.staff.accounts import update_account

MESSAGE = "39C since last night, call 555-867-5309"


class Tables(HTMLParser):
    """The cells of each <table id=...> on a page, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def seed(store: HandoffStore) -> None:
    today = store.clock().date()
    for n in range(4):
        record_outcome(store, f"answered-{n}", "answered")
    record_outcome(store, "mixed", "answered")
    record_outcome(store, "mixed", "handed_off")
    record_outcome(store, "gone-wrong", "fallback")
    record_outcome(store, "yesterday", "abstained", day=today - timedelta(days=1))
    record_outcome(store, "too-old", "answered", day=today - timedelta(days=45))
    for urgency in ("urgent", "urgent", "emergency", "routine"):
        made = store.create_ticket(f"d-{secrets.token_hex(3)}", "sms", urgency, "fever", MESSAGE, [])
        if urgency == "emergency":
            add_note(store, made.id, "kim", "called")
    for _ in range(3):
        record_gap(store, Gap("dupilumab", "costs <and> insurance", "not_covered"))
    record_gap(store, Gap(None, None, "out_of_scope"))


def direct(store: HandoffStore, sql: str, params: tuple[object, ...] = ()) -> int:
    with store._tx(write=False) as c:
        return int(c.rows(sql, params)[0][0])


@pytest.mark.integration
def test_the_figures_equal_direct_sql_counts_and_the_page_shows_them(staff_server: StaffServer) -> None:
    store = staff_server.store()
    seed(store)
    data = requests.get(
        f"{staff_server.base_url}/staff/api/dashboard",
        headers={"Authorization": f"Bearer {staff_server.token}"},  # machine access may read the dashboard
        timeout=10,
    ).json()
    assert data["days"] == 30 and len(data["conversations"]["per_day"]) == 30
    today = datetime.now(timezone.utc).date().isoformat()
    by_day = {r["day"]: r for r in data["conversations"]["per_day"]}
    distinct_today = direct(
        store, "SELECT COUNT(DISTINCT conversation) FROM conversation_outcomes WHERE day = ?", (today,)
    )
    assert sum(by_day[today][o] for o in ("answered", "abstained", "handed_off", "fallback")) == distinct_today
    assert by_day[today]["handed_off"] == direct(
        store, "SELECT COUNT(*) FROM conversation_outcomes WHERE day = ? AND outcome = 'handed_off'", (today,)
    )
    assert by_day[today]["answered"] == 4  # "mixed" counts as handed off
    handoffs = {r["day"]: r for r in data["handoffs"]["per_day"]}
    start = datetime.fromisoformat(today).replace(tzinfo=timezone.utc)
    for urgency in ("emergency", "urgent", "routine"):
        sql = "SELECT COUNT(*) FROM handoff_tickets WHERE urgency = ? AND created_at >= ? AND created_at < ?"
        assert handoffs[today][urgency] == direct(store, sql, (urgency, start, start + timedelta(days=1)))
    emergency = next(r for r in data["response_times"] if r["urgency"] == "emergency")
    assert emergency["acted"] == 1 and emergency["target"] == "15 minutes"
    gaps = data["gaps"]["medicines"]
    assert gaps[0]["drug"] == "dupilumab" and gaps[0]["total"] == 3
    assert MESSAGE not in repr(data) and "555-867" not in repr(data)

    page = log_in(staff_server).get(f"{staff_server.base_url}/staff/dashboard", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"].startswith("no-store")
    html = page.text
    assert (
        "<script" not in html
        and not re.search(r"\son[a-z]+\s*=", html)
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "costs &lt;and&gt; insurance" in html and "<and>" not in html
    tables = Tables()
    tables.feed(html)
    conversation_rows = {row[0]: row for row in tables.tables["table-conversations"][1:]}
    answered, abstained, handed_off, fallback, total = (int(v) for v in conversation_rows[today][1:])
    assert (answered, abstained, handed_off, fallback) == tuple(
        by_day[today][o] for o in ("answered", "abstained", "handed_off", "fallback")
    )
    assert total == distinct_today
    handoff_rows = {row[0]: row for row in tables.tables["table-handoffs"][1:]}
    urgencies = ("emergency", "urgent", "routine")
    assert [int(v) for v in handoff_rows[today][1:4]] == [handoffs[today][u] for u in urgencies]
    assert [row[0] for row in tables.tables["table-response"][1:]] == ["Emergency", "Urgent", "Routine"]
    assert ["dupilumab", "costs <and> insurance", "not_covered", "3"] in tables.tables["table-gaps"]
    assert MESSAGE not in html


@pytest.mark.integration
def test_the_dashboard_needs_a_login_and_a_sane_window(staff_server: StaffServer) -> None:
    page = requests.get(f"{staff_server.base_url}/staff/dashboard", allow_redirects=False, timeout=5)
    assert page.status_code == 303 and page.headers["Location"] == "/staff"
    api = requests.get(f"{staff_server.base_url}/staff/api/dashboard", timeout=5)
    assert api.status_code == 401
    session = log_in(staff_server)
    for days in ("0", "367", "x"):
        bad = session.get(f"{staff_server.base_url}/staff/api/dashboard?days={days}", timeout=5)
        assert bad.status_code == 400 and "days" in bad.json()["message"]
    week = session.get(f"{staff_server.base_url}/staff/api/dashboard?days=7", timeout=10).json()
    assert len(week["handoffs"]["per_day"]) == 7
    inbox = session.get(f"{staff_server.base_url}/staff", timeout=5).text
    assert 'href="/staff/dashboard"' in inbox


@pytest.mark.integration
def test_the_dashboard_page_follows_the_account_sign_in(staff_server: StaffServer) -> None:
    url = f"{staff_server.base_url}/staff/dashboard"
    machine = requests.get(url, headers={"Authorization": f"Bearer {staff_server.token}"}, timeout=10)
    assert machine.status_code == 200 and "chart-handoffs" in machine.text  # the machine role may read it
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, allow_redirects=False, timeout=5)
    assert wrong.status_code == 303
    kim = add_staff(staff_server, "staff")
    session = log_in(staff_server, kim)
    assert session.get(url, allow_redirects=False, timeout=10).status_code == 200
    update_account(staff_server.store(), kim.username, disabled=True, actor="test")
    gone = session.get(url, allow_redirects=False, timeout=5)  # the account is read again on every request
    assert gone.status_code == 303 and gone.headers["Location"] == "/staff"


def test_charts_escape_labels_and_scale_sensibly() -> None:
    svg = charts.stacked_bars("c", "Title <x>", ["2026-11-01", "2026-11-02"], [charts.Series("a&b", [1, 3], "#000")])
    assert "Title &lt;x&gt;" in svg and "a&amp;b" in svg and "<x>" not in svg
    assert svg.count("<rect") == 1 + 2  # the legend swatch and two bars
    bars = charts.bars("g", "Gaps", [("<img src=x>", 2.0)])
    assert "&lt;img src=x&gt;" in bars and "<img" not in bars
    table = charts.table("t", "Caption", ["A", "B"], [["<b>", 1]])
    assert '<th scope="row">&lt;b&gt;</th><td>1</td>' in table
    assert "No data in this period" in charts.table("e", "Empty", ["A"], [])
    assert [charts.nice_max(v) for v in (0, 1, 7, 60, 101)] == [1.0, 1, 8, 60, 150]
    durations = [charts.format_duration(s) for s in (None, 30, 900, 5400, 200000)]
    assert durations == ["–", "30 s", "15 min", "1.5 h", "2.3 d"]
    ranges = charts.range_bars("r", "Times", [("Urgent", 60.0, 120.0, 3600.0), ("Routine", None, None, None)])
    assert "median 60 s · 90th 2 min · target 60 min" in ranges and "median – · 90th – · target –" in ranges
