"""Channel tests run in two environments.

- Rasa venv (Python 3.10: rasa, sanic 21, twilio, psycopg2), for the channels themselves:
    .venv-rasa/bin/python -m pytest tests/channels --confcutdir=tests/channels
  (--confcutdir keeps pytest from loading tests/conftest.py, which needs the 3.11 packages.)
- Main venv (Python 3.11: playwright, sanic 25), for the widget in Chromium and the portal blueprint:
    .venv/bin/python -m pytest tests/channels
Each run skips the files the other environment needs (GSM-7 tests run in both).
"""

from __future__ import annotations

from importlib.util import find_spec

_RASA_TESTS = [
    "test_web_channel.py",
    "test_sms_channel.py",
    "test_optout.py",
    "test_rest_channel.py",
    "test_rasa_server.py",
    "test_intent_classifier.py",
]
_MAIN_TESTS = ["test_widget_browser.py", "test_portal.py"]

collect_ignore_glob: list[str] = []
if find_spec("rasa") is None or find_spec("twilio") is None:
    collect_ignore_glob += _RASA_TESTS
if find_spec("playwright") is None or find_spec("rasa") is not None:
    collect_ignore_glob += _MAIN_TESTS
