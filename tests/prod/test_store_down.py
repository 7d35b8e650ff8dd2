"""PostgreSQL unreachable for the handoff store: the safety reply still goes out, the ticket waits in the local
spool, and once the store is back it reaches PostgreSQL and the staff webhook exactly once.

The machine's PostgreSQL is never stopped: the action server and staff inbox are restarted with DATABASE_URL
pointing at a closed port, then restarted with the real URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prod_support import Chat, ProdEnv, customs, is_fallback, poll, text_of

from bot.handoff.models import TicketNotFound
from bot.handoff.sqlite import SqliteHandoffStore
from bot.ops.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RESTART_TIMEOUT = 420.0


@pytest.fixture
def store_down(prod: ProdEnv) -> Iterator[ProdEnv]:
    stack = prod.stack
    real_url = stack.env["DATABASE_URL"]
    stack.env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/{prod.db.name}"
    try:
        stack.restart("actions", "staff", timeout=RESTART_TIMEOUT)
        yield prod
    finally:
        if stack.env["DATABASE_URL"] != real_url:
            stack.env["DATABASE_URL"] = real_url
            stack.restart("actions", "staff", timeout=RESTART_TIMEOUT)


def spooled(prod: ProdEnv, ticket_id: str) -> bool:
    if not prod.spool_path.exists():
        return False
    try:
        SqliteHandoffStore(prod.spool_path).get_ticket(ticket_id)
    except TicketNotFound:
        return False
    return True


def test_a_handoff_made_while_postgresql_is_down_reaches_it_and_the_staff_once(store_down: ProdEnv) -> None:
    prod, stack = store_down, store_down.stack
    chat = Chat(stack.rasa_url, verify=stack.tls_verify)
    text = "my son swallowed a bottle of his azathioprine"
    messages = chat.send(text)
    assert not is_fallback(messages), messages
    handoff = customs(messages)[-1]
    assert handoff["kind"] == "handoff" and handoff["ticket_id"], messages
    assert "911" in text_of(messages) or "555-0100" in text_of(messages)
    ticket_id = handoff["ticket_id"]

    assert spooled(prod, ticket_id)
    assert prod.db.rows("SELECT count(*) FROM handoff_tickets WHERE id = %s", (ticket_id,)) == [(0,)]
    assert prod.webhook.for_ticket(ticket_id) == []

    stack.env["DATABASE_URL"] = prod.db.url()
    stack.restart("actions", "staff", timeout=RESTART_TIMEOUT)

    def delivered() -> bool:
        rows = prod.db.rows("SELECT sent_at FROM handoff_outbox WHERE ticket_id = %s", (ticket_id,))
        return bool(rows) and rows[0][0] is not None

    poll(delivered, 90, "the spooled ticket's staff notification to be marked sent in PostgreSQL")
    rows = prod.db.rows("SELECT conversation_id, message, status FROM handoff_tickets WHERE id = %s", (ticket_id,))
    assert rows == [(chat.sender, text, "open")]
    assert prod.db.rows("SELECT count(*) FROM handoff_outbox WHERE ticket_id = %s", (ticket_id,)) == [(1,)]
    assert len(prod.webhook.for_ticket(ticket_id)) == 1
    assert not spooled(prod, ticket_id)
