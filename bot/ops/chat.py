"""A terminal chat with the bot that `make run` serves (REST channel)."""

from __future__ import annotations

import json
import sys
import uuid

import requests

from bot.ops.stack import rest_headers
from bot.settings import get_settings

DEFAULT_URL = "http://127.0.0.1:5005"  # what `make run` serves


def main() -> int:
    url = (get_settings().bot_url or DEFAULT_URL).rstrip("/") + "/webhooks/rest/webhook"
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    headers = rest_headers()  # REST_API_KEY, when the bot requires it
    print("Type a question (Ctrl-D to quit).")
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: input("you> "), None):
        try:
            resp = requests.post(url, json={"sender": sender, "message": line.strip()}, headers=headers, timeout=30)
        except requests.ConnectionError:
            print(f"No bot at {url}. Start it with `make run`.", file=sys.stderr)
            return 1
        if resp.status_code == 401:
            print("The bot needs its REST key: set REST_API_KEY.", file=sys.stderr)
            return 1
        for message in resp.json():
            if "text" in message:
                print(f"bot> {message['text']}")
            for button in message.get("buttons") or []:
                print(f"     [{button['title']}]")
            if "custom" in message:
                print(f"     {json.dumps(message['custom'])}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, KeyboardInterrupt):
        print()
        sys.exit(0)
