"""The production profile on free ports, once per test session: two Rasa replicas sharing a PostgreSQL database of
their own (tracker store and handoff store) and a Redis database and key prefix of their own, nginx in
front, two action-server workers and the staff inbox posting to a local webhook.

Needs the machine's PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379); `.ci/run` starts them.
These tests never skip: without them they fail.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator

import pytest
from prod_support import REST_KEY, PgDatabase, ProdEnv, WebhookSink, redis_command, redis_delete_prefix

from bot.ops.ports import free_port
from bot.ops.stack import Ports, Stack

STAFF_TOKEN = "prod-staff-machine-token-0123456789abcdef"  # at least 32 characters
CLINIC_PHONE = "555-0100"
START_TIMEOUT = 420.0


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProdEnv]:
    tmp = tmp_path_factory.mktemp("prod")
    # Fail loudly (never skip) when PostgreSQL or Redis is not there.
    assert redis_command(0, "PING") == "PONG", "Redis on 127.0.0.1:6379 is required"
    db = PgDatabase()
    db.create()
    redis_db = random.randint(2, 15)
    prefix = f"ecztest{secrets.token_hex(4)}"
    webhook = WebhookSink()
    handoff_db = tmp / "handoff.sqlite"
    env = {
        "STAFF_TOKEN": STAFF_TOKEN,
        "CLINIC_PHONE": CLINIC_PHONE,
        "STAFF_WEBHOOK_URL": webhook.url,
        "HANDOFF_DB_PATH": str(handoff_db),
        "DB_HOST": "127.0.0.1",
        "DB_PORT": "5432",
        "DB_NAME": db.name,
        "DB_USER": "postgres",
        "DB_PASSWORD": "",
        "DATABASE_URL": db.url(),
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_DB": str(redis_db),
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": prefix,
        "REST_API_KEY": REST_KEY,
    }
    ports = Ports(rasa=free_port(), actions=free_port(), staff=free_port(), replicas=(free_port(), free_port()))
    stack = Stack(ports=ports, env=env, log_dir=tmp / "log", profile="prod", rasa_replicas=2, action_workers=2)
    try:
        stack.start(timeout=START_TIMEOUT)
        yield ProdEnv(stack, db, redis_db, prefix, webhook, handoff_db)
    finally:
        try:
            stack.stop()
        finally:
            webhook.close()
            redis_delete_prefix(redis_db, prefix)
            db.drop()
