"""Two Rasa replicas sharing PostgreSQL (tracker and handoff stores) and Redis (locks), hit on their own ports."""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from prod_support import Chat, ProdEnv, RedisMonitor, customs, is_fallback, text_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# Medicines whose handout covers giving it (the last turn), so that turn gets an answer rather than "not covered".
DRUGS = ["methotrexate", "cyclosporine", "dupilumab", "azathioprine", "mycophenolate", "cyclosporine"]
FOLLOW_UPS = ["how fast does it work?", "does it need blood tests?", "how is it given?"]
SAFETY = ["my son swallowed a bottle of his azathioprine", "i have a fever of 103 on methotrexate"]


def events_by_sender(prod: ProdEnv, senders: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = prod.db.rows(
        "SELECT sender_id, type_name, action_name, data FROM events WHERE sender_id = ANY(%s) ORDER BY id",
        (senders,),
    )
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sender, type_name, action_name, data in rows:
        events[sender].append({**json.loads(data), "_type": type_name, "_action": action_name, "_row": data})
    return events


def is_respond(event: dict[str, Any]) -> bool:
    return bool(event["_type"] == "action" and event["_action"] == "action_respond")


def test_interleaved_turns_on_two_replicas_keep_every_event_once_and_in_order(prod: ProdEnv) -> None:
    replicas = prod.stack.replica_urls
    assert len(replicas) == 2
    chats = [Chat(replicas[0]) for _ in DRUGS]
    sent: dict[str, list[str]] = {c.sender: [] for c in chats}
    turns = [[f"what are the side effects of {drug}?", *FOLLOW_UPS] for drug in DRUGS]

    def send(i: int, k: int) -> list[dict[str, Any]]:
        # Conversation i's turn k goes to replica (i + k) % 2: every conversation alternates replicas.
        return chats[i].send(turns[i][k], base_url=replicas[(i + k) % 2])

    replies: list[list[dict[str, Any]]] = []
    with ThreadPoolExecutor(max_workers=len(chats)) as pool:
        for k in range(len(FOLLOW_UPS) + 1):
            # Turn k of every conversation at once (on both replicas); turn k+1 only after each answered.
            replies = list(pool.map(lambda i, k=k: send(i, k), range(len(chats))))
            for i, messages in enumerate(replies):
                sent[chats[i].sender].append(turns[i][k])
                assert not is_fallback(messages), (turns[i][k], messages)
                kinds = [c["kind"] for c in customs(messages)]
                assert kinds and kinds[-1] in ("answer", "clarify", "abstain", "chitchat", "handoff"), messages

    # The last turn ("how is it given?") names no medicine: the answer takes it from the conversation, whose
    # earlier turns the other replica served.
    for i, messages in enumerate(replies):
        answer = customs(messages)[-1]
        expected = ("answer", DRUGS[i], "administration")
        assert (answer["kind"], answer.get("drug"), answer.get("topic")) == expected, messages

    events = events_by_sender(prod, list(sent))
    for sender, texts in sent.items():
        conversation = events[sender]
        user_events = [e for e in conversation if e["_type"] == "user"]
        assert [e["text"] for e in user_events] == texts, sender
        # Every stored event exactly once (a duplicate row would repeat its serialized data, timestamp included) ...
        assert len({e["_row"] for e in conversation}) == len(conversation), sender
        # ... in time order, and each user turn answered by exactly one run of the custom action.
        stamps = [e["timestamp"] for e in conversation]
        assert stamps == sorted(stamps), sender
        responds = [e for e in conversation if is_respond(e)]
        assert len(responds) == len(texts), sender
        positions = [n for n, e in enumerate(conversation) if e["_type"] == "user"] + [len(conversation)]
        for start, end in zip(positions, positions[1:], strict=False):
            between = [e for e in conversation[start:end] if is_respond(e)]
            assert len(between) == 1, (sender, conversation[start]["text"])


def test_each_safety_message_makes_exactly_one_ticket_whichever_replica_takes_it(prod: ProdEnv) -> None:
    replicas = prod.stack.replica_urls
    jobs = [(text, url) for text in SAFETY for url in replicas]
    chats = [Chat(url) for _, url in jobs]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        replies = list(pool.map(lambda n: chats[n].send(jobs[n][0]), range(len(jobs))))
    for chat, (text, _), messages in zip(chats, jobs, replies, strict=True):
        handoff = customs(messages)[-1]
        assert handoff["kind"] == "handoff" and handoff["ticket_id"], (text, messages)
        assert "911" in text_of(messages) or "555-0100" in text_of(messages)
        rows = prod.db.rows("SELECT id, message FROM handoff_tickets WHERE conversation_id = %s", (chat.sender,))
        assert rows == [(handoff["ticket_id"], text)], (text, rows)
        outbox = prod.db.rows("SELECT count(*) FROM handoff_outbox WHERE ticket_id = %s", (handoff["ticket_id"],))
        assert outbox == [(1,)]
    # Nothing was left in the local spool: PostgreSQL took every ticket.
    assert not prod.spool_path.exists() or not _spooled(prod)


def _spooled(prod: ProdEnv) -> list[str]:
    from bot.handoff.sqlite import SqliteHandoffStore

    return [t.id for t in SqliteHandoffStore(prod.spool_path).list_tickets(status=None)]


def test_both_replicas_take_their_locks_in_the_shared_redis(prod: ProdEnv) -> None:
    replicas = prod.stack.replica_urls
    chat = Chat(replicas[0])
    key = f"{prod.redis_prefix}:lock:{chat.sender}"
    monitor = RedisMonitor()
    try:
        clients: list[set[str]] = []
        for url in replicas:
            chat.send("hi", base_url=url)
            seen = monitor.wait_for(lambda db, addr, cmd, arg: cmd == "SET" and arg == key, timeout=30)
            seen += monitor.drain(lambda db, addr, cmd, arg: arg == key)
            assert {db for db, *_ in seen} == {prod.redis_db}
            clients.append({addr for _, addr, *_ in seen})
    finally:
        monitor.close()
    # Two different processes (their own Redis connections) used the same lock key in the same database.
    assert clients[0] and clients[1] and not clients[0] & clients[1]


def test_a_widget_session_started_on_one_replica_is_accepted_by_the_other(prod: ProdEnv) -> None:
    first_url, second_url = (f"{url}/webhooks/web/webhook" for url in prod.stack.replica_urls)
    first = requests.post(first_url, json={"message": "hi"}, timeout=90)
    assert first.status_code == 200, first.text
    session = first.json()["session"]
    assert session
    second = requests.post(
        second_url, json={"message": "what are the side effects of methotrexate?", "session": session}, timeout=90
    )
    assert second.status_code == 200, second.text
    assert second.json()["session"] == session
    answer = customs(second.json()["messages"])[-1]
    assert (answer["kind"], answer.get("drug")) == ("answer", "methotrexate"), second.json()
