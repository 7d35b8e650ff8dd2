"""The audit trail for admins: JSON pages with filters and a cursor, the CSV export, the page."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
from asgi_support import PASSWORD, Harness, log_in

from bot.handoff import audit
from bot.staff.audit_view import COLUMNS


def test_only_admins_read_and_export_the_trail(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("sam", "staff")
    h.add("cleo", "clinician")

    async def body(c: httpx.AsyncClient) -> None:
        assert (await c.get("/staff/api/audit")).status_code == 401
        for name in ("sam", "cleo"):
            c.cookies.clear()
            await log_in(c, name, PASSWORD, h.code(name))
            for path in ("/staff/api/audit", "/staff/api/audit/export"):
                response = await c.get(path)
                assert response.status_code == 403 and response.json()["error"] == "forbidden"

    h.run(body)
    assert not [e for e in audit.entries(h.store) if e.action in ("audit_view", "export")]


def test_pages_filter_by_ticket_and_actor_and_follow_the_cursor(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("root", "admin")
    for n in range(7):
        audit.record(h.store, "ann" if n % 2 else "bo", "view", ticket_id=f"T{n % 3}", remote="10.0.0.1")

    async def body(c: httpx.AsyncClient) -> None:
        await log_in(c, "root", PASSWORD, h.code("root"))
        seen: list[int] = []
        cursor = ""
        while True:
            page = (await c.get(f"/staff/api/audit?actor=ann&limit=2{cursor and f'&cursor={cursor}'}")).json()
            assert len(page["entries"]) <= 2
            seen += [e["id"] for e in page["entries"]]
            assert all(e["actor"] == "ann" and e["action"] == "view" for e in page["entries"])
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        assert len(seen) == 3 and seen == sorted(seen, reverse=True)
        by_ticket = (await c.get("/staff/api/audit?ticket=T1")).json()["entries"]
        assert {e["ticket_id"] for e in by_ticket} == {"T1"} and len(by_ticket) == 2
        everything = (await c.get("/staff/api/audit?limit=500")).json()
        assert everything["next_cursor"] is None and {"login", "account_create", "audit_view"} <= {
            e["action"] for e in everything["entries"]
        }
        for query in (
            "limit=0",
            "limit=501",
            "limit=x",
            "cursor=-1",
            "cursor=abc",
            "ticket=../x",
            f"actor={'a' * 101}",
        ):
            response = await c.get(f"/staff/api/audit?{query}")
            assert response.status_code == 400 and response.json()["error"] == "bad_request", query

    h.run(body)
    views = [e for e in audit.entries(h.store) if e.action == "audit_view"]
    assert views and all(e.actor == "root" for e in views)
    assert {e.ticket_id for e in views} >= {"T1"} and any(e.detail == "actor=ann" for e in views)


def test_the_export_is_csv_of_every_match_and_is_itself_recorded(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.add("root", "admin")
    with h.store._tx() as tx:  # more than one export batch, in one transaction
        for n in range(2500):
            tx.run(
                "INSERT INTO audit_log (at, actor, action, ticket_id, remote) VALUES (?, 'ann', 'view', ?, '10.0.0.1')",
                (h.clock(), f"T{n}"),
            )
    audit.record(h.store, "=cmd|'/c calc'!A1", "login_failed", detail="+SUM(A1)")

    async def body(c: httpx.AsyncClient) -> None:
        await log_in(c, "root", PASSWORD, h.code("root"))
        response = await c.get("/staff/api/audit/export")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        assert response.headers["cache-control"] == "no-store"
        rows = list(csv.reader(io.StringIO(response.text)))
        assert tuple(rows[0]) == COLUMNS
        body_rows = rows[1:]
        assert body_rows[0][3] == "export" and body_rows[0][2] == "root"  # recorded before the rows were read
        assert sum(r[3] == "view" for r in body_rows) == 2500
        ids = [int(r[0]) for r in body_rows]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
        evil = next(r for r in body_rows if r[3] == "login_failed")
        assert evil[2].startswith("'=") and evil[6] == "'+SUM(A1)"  # a spreadsheet shows them as text
        one = list(csv.reader(io.StringIO((await c.get("/staff/api/audit/export?ticket=T7")).text)))
        assert [r[4] for r in one[1:]] == ["T7", "T7"]  # the view and the export entry

    h.run(body)
    exports = [e for e in audit.entries(h.store) if e.action == "export"]
    assert [(e.actor, e.ticket_id) for e in exports] == [("root", "T7"), ("root", None)]


def test_the_page_has_no_data_no_inline_script_and_the_staff_csp(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    async def body(c: httpx.AsyncClient) -> None:
        page = await c.get("/staff/audit")
        assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S | re.I)
        assert scripts and all("src=" in attrs and not inner.strip() for attrs, inner in scripts)
        assert not re.search(r"\son[a-z]+\s*=", page.text, re.I)
        for asset in ("audit.js", "me.js"):
            script = await c.get(f"/staff/static/{asset}")
            assert script.status_code == 200 and not re.search(r"innerHTML|outerHTML|insertAdjacentHTML", script.text)
        assert "/staff/api/audit" in (await c.get("/staff/static/audit.js")).text

    h.run(body)
