"""A conversation survives a restart of every Rasa replica and of the action server (state is in PostgreSQL)."""

from __future__ import annotations

import pytest
from prod_support import Chat, ProdEnv, customs, is_fallback

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RESTART_TIMEOUT = 420.0


def test_conversation_context_survives_restarting_rasa_and_the_action_server(prod: ProdEnv) -> None:
    stack = prod.stack
    chat = Chat(stack.rasa_url, verify=stack.tls_verify)  # through nginx, as a patient would
    first = chat.send("tell me about cyclosporine")
    assert not is_fallback(first), first
    assert customs(first)[-1].get("drug") == "cyclosporine", first

    restarted = [*stack.rasa_names, "actions"]
    before = {name: stack.processes[name].pid for name in restarted}
    stack.restart(*restarted, timeout=RESTART_TIMEOUT)
    assert all(stack.processes[name].pid != pid for name, pid in before.items())

    follow_up = chat.send("how fast does it work?")
    answer = customs(follow_up)[-1]
    assert (answer["kind"], answer.get("drug"), answer.get("topic")) == ("answer", "cyclosporine", "onset"), follow_up
    users = prod.db.rows(
        "SELECT data::json->>'text' FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id",
        (chat.sender,),
    )
    assert users == [("tell me about cyclosporine",), ("how fast does it work?",)]
