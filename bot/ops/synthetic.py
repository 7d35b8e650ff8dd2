"""Synthetic check: ask a real question through the REST channel and expect an answer.

`python -m bot.ops.synthetic [--url URL] [--textfile PATH]`: exits 0 when the reply's kind is `answer`, 1 otherwise
(fallback, abstain, error, timeout). The REST channel answers 200 even when the action server is down, so an
uptime check stays green; this one does not. URL defaults to BOT_URL (else http://127.0.0.1:5005); the key is
REST_API_KEY. With --textfile it also writes bot_synthetic_success and bot_synthetic_last_run_timestamp_seconds
for node_exporter's textfile collector (deploy/prometheus/alerts.yml alerts on both). Run it every few minutes
(cron, a Kubernetes CronJob).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from bot.ops.stack import rest_headers
from bot.settings import get_settings

QUESTION = "what are the side effects of methotrexate?"
DEFAULT_URL = "http://127.0.0.1:5005"


def reply_kind(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in messages:
        custom = message.get("custom") if isinstance(message, dict) else None
        if isinstance(custom, dict) and custom.get("kind"):
            return str(custom["kind"])
    return None


def check(url: str, headers: dict[str, str], question: str = QUESTION, timeout: float = 40.0) -> tuple[bool, str]:
    """(ok, what happened) for one question; the sender is a fresh synthetic id, so no conversation carries over."""
    sender = f"synthetic-{uuid.uuid4().hex[:12]}"
    try:
        resp = requests.post(
            f"{url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": question},
            headers=headers,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        return False, f"no answer ({type(exc).__name__})"
    if resp.status_code != 200:
        return False, f"HTTP {resp.status_code}"
    try:
        kind = reply_kind(resp.json())
    except ValueError:
        return False, "the reply is not JSON"
    return kind == "answer", f"reply kind {kind!r}"


def write_textfile(path: Path, ok: bool, seconds: float) -> None:
    registry = CollectorRegistry()
    Gauge("bot_synthetic_success", "1 when the synthetic question got an answer.", registry=registry).set(int(ok))
    Gauge("bot_synthetic_duration_seconds", "Seconds the synthetic question took.", registry=registry).set(seconds)
    last = Gauge("bot_synthetic_last_run_timestamp_seconds", "When the check last ran.", registry=registry)
    last.set_to_current_time()
    write_to_textfile(str(path), registry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask the bot a real question; exit 1 unless it answers.")
    parser.add_argument("--url", default=None, help="the bot's public URL (default: BOT_URL, else 127.0.0.1:5005)")
    parser.add_argument("--textfile", type=Path, default=None, help="also write the result for node_exporter")
    args = parser.parse_args(argv)
    url = args.url or get_settings().bot_url or DEFAULT_URL
    started = time.monotonic()
    ok, what = check(url, rest_headers())
    if args.textfile is not None:
        write_textfile(args.textfile, ok, time.monotonic() - started)
    print(f"{'ok' if ok else 'FAIL'}: {what}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
