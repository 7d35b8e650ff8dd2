"""Attacks on the running local stack (as another local user or pod would): forged action-server calls, data left
on disk after "delete my data" and `make purge`, stores and logs readable by others.

Starts the real stack (action server, staff inbox, Rasa) on free ports with its stores in a temporary var/ folder.
"""

from __future__ import annotations

import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.action_server import TOKEN_HEADER
from bot.handoff.sqlite import SqliteHandoffStore
from bot.ops.ports import free_port
from bot.ops.stack import PYTHON, ROOT, Ports, Stack

pytestmark = pytest.mark.integration
HANDOFF = "my daughter has a fever of 103 and she takes cyclosporine"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("attack") / "var"  # the stack creates it
    env = {
        "STAFF_TOKEN": "attack-staff-machine-token-0123456789abcdef",
        "HANDOFF_DB_PATH": str(var / "handoff.sqlite"),
        "TRACKER_DB": str(var / "tracker.db"),
        "SMS_OPTOUT_DB": str(var / "sms_optout.sqlite"),
        "DATABASE_URL": "",
        "STAFF_WEBHOOK_URL": "",
        "ACTION_SERVER_TOKEN": "",  # the stack makes one for this run
    }
    stack = Stack(ports=Ports(free_port(), free_port(), free_port()), env=env, log_dir=var / "log")
    try:
        stack.start(timeout=300)
        yield stack
    finally:
        stack.stop()


def var_of(stack: Stack) -> Path:
    return stack.log_dir.parent


def send(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    resp = requests.post(url, json={"sender": sender, "message": text}, timeout=90)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def customs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if "custom" in m]


def action_call(sender: str, text: str) -> dict[str, Any]:
    """What Rasa posts to the action server for one turn (a made-up tracker, as an attacker would send it)."""
    latest = {"text": text, "intent": {"name": "report_symptom", "confidence": 0.99}, "entities": []}
    tracker = {
        "sender_id": sender,
        "slots": {},
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": "action_respond", "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6.21"}


def tickets(stack: Stack) -> list[dict[str, Any]]:
    store = SqliteHandoffStore(stack.env["HANDOFF_DB_PATH"])
    return [t.to_dict() for t in store.list_tickets(status=None)]


def raw_bytes(var: Path) -> dict[str, bytes]:
    return {str(p.relative_to(var)): p.read_bytes() for p in sorted(var.rglob("*")) if p.is_file()}


def test_forged_action_calls_are_refused_and_change_nothing(stack: Stack) -> None:
    victim = f"victim-{uuid.uuid4().hex[:10]}"
    handoff = customs(send(stack, victim, HANDOFF))[0]
    assert handoff["kind"] == "handoff"  # the person's open ticket the forgery aims at
    before = tickets(stack)
    webhook = f"http://127.0.0.1:{stack.ports.actions}/webhook"
    forged = action_call(victim, "Nurse Joy: I will call you at 5 pm. Reply with your date of birth.")
    for headers in ({}, {TOKEN_HEADER: "not-the-token-of-this-stack"}, {TOKEN_HEADER: ""}):
        resp = requests.post(webhook, json=forged, headers=headers, timeout=30)
        assert resp.status_code == 401 and resp.json() == {"error": "unauthorized"}, resp.text
        assert victim not in resp.text and "ticket" not in resp.text
    forged_new = action_call(f"made-up-{uuid.uuid4().hex[:8]}", HANDOFF)
    assert requests.post(webhook, json=forged_new, timeout=30).status_code == 401
    assert requests.get(f"http://127.0.0.1:{stack.ports.actions}/actions", timeout=30).status_code == 401
    assert tickets(stack) == before  # no new ticket, no follow-up on the victim's
    log = (stack.log_dir / "actions.log").read_text(errors="replace")
    assert "refused a call without a valid" in log and "Nurse Joy" not in log and victim not in log


def test_rasa_and_a_caller_with_the_token_get_through(stack: Stack) -> None:
    token = stack._env()["ACTION_SERVER_TOKEN"]
    call = action_call(f"direct-{uuid.uuid4().hex[:8]}", "what are the side effects of methotrexate?")
    webhook = f"http://127.0.0.1:{stack.ports.actions}/webhook"
    resp = requests.post(webhook, json=call, headers={TOKEN_HEADER: token}, timeout=60)
    assert resp.status_code == 200 and resp.json()["responses"], resp.text
    reply = send(stack, f"rasa-{uuid.uuid4().hex[:8]}", "what are the side effects of methotrexate?")
    assert any(c.get("kind") == "answer" for c in customs(reply)), reply  # Rasa's calls carry the token
    assert requests.get(f"http://127.0.0.1:{stack.ports.actions}/health", timeout=10).status_code == 200


def test_delete_my_data_leaves_no_trace_in_the_raw_files(stack: Stack) -> None:
    sender = f"erase-{uuid.uuid4().hex[:10]}"
    marker = f"zq{uuid.uuid4().hex[:12]}"
    send(stack, sender, f"what are the side effects of methotrexate? my name is {marker}")
    assert any(marker.encode() in data for data in raw_bytes(var_of(stack)).values())  # the check can find it
    confirm = send(stack, sender, "delete my data")
    assert {"confirm": "erase"}.items() <= customs(confirm)[0].items(), confirm
    assert any(b.get("payload") == "/affirm" for m in confirm for b in m.get("buttons") or []), confirm
    done = send(stack, sender, "/affirm")
    assert any(c.get("kind") == "erased" for c in customs(done)), done
    found = [name for name, data in raw_bytes(var_of(stack)).items() if marker.encode() in data]
    assert found == []


def test_make_purge_leaves_no_trace_of_tickets_or_conversations(stack: Stack) -> None:
    sender = f"purge-{uuid.uuid4().hex[:10]}"
    marker = f"zq{uuid.uuid4().hex[:12]}"
    handoff = customs(send(stack, sender, f"{HANDOFF}, her name is {marker}"))[0]
    assert handoff["kind"] == "handoff"
    assert marker.encode() in Path(stack.env["HANDOFF_DB_PATH"]).read_bytes() + _wal(stack.env["HANDOFF_DB_PATH"])
    env = stack._env()
    subprocess.run([str(PYTHON), "-m", "bot.ops.purge", "--days", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    found = [name for name, data in raw_bytes(var_of(stack)).items() if marker.encode() in data]
    assert found == []
    assert all(t["conversation_id"] != sender for t in tickets(stack))


def _wal(db: str) -> bytes:
    wal = Path(db + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_what_the_stack_writes_is_readable_by_its_user_only(stack: Stack) -> None:
    send(stack, f"perm-{uuid.uuid4().hex[:8]}", HANDOFF)  # a ticket, a conversation, log lines
    var = var_of(stack)
    written = [var, *sorted(var.rglob("*"))]
    names = {str(p.relative_to(var)) for p in written[1:]}
    assert {"tracker.db", "handoff.sqlite", "log", "log/actions.log", "log/rasa.log", "log/staff.log"} <= names
    loose = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in written if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert loose == {}
    assert stat.S_IMODE(var.stat().st_mode) == stat.S_IMODE((var / "log").stat().st_mode) == 0o700
