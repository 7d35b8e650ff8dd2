"""The real stack's metrics: a scripted conversation mix is counted where it happened, and with the action server
stopped the fallback counter rises and the fallback alert's own rule fires (promtool test rules on the scrape)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.constants import ROOT
from bot.ops.ports import free_port
from bot.ops.stack import Ports, Stack

REST_KEY = "e2e-metrics-rest-key-0123456789abcdef"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
MIX = [
    "hello",
    "what are the side effects of methotrexate?",
    "does dupilumab need labs?",
    "my son has a fever on methotrexate",
    "thank you",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("metrics-stack")
    env = {
        "STAFF_TOKEN": "e2e-staff-machine-token-0123456789abcdef",
        "HANDOFF_DB_PATH": str(tmp / "handoff.sqlite"),
        "TRACKER_DB": str(tmp / "tracker.db"),
        "DATABASE_URL": "",
        "STAFF_WEBHOOK_URL": "",
        "SMS_OPTOUT_DB": str(tmp / "optout.sqlite"),
        "REST_API_KEY": REST_KEY,
        "ACTION_WORKERS": "2",  # the workers' counts are summed through PROMETHEUS_MULTIPROC_DIR
        "REST_TURN_TIMEOUT": "20",
    }
    ports = Ports(free_port(), free_port(), free_port(), (), free_port(), free_port(), free_port())
    stack = Stack(ports=ports, env=env, log_dir=tmp / "log")
    try:
        stack.start(timeout=400)
        yield stack
    finally:
        stack.stop()


def send(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    resp = requests.post(url, json={"sender": sender, "message": text}, headers=stack.rest_headers(), timeout=90)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def kind_of(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    custom = next(m["custom"] for m in messages if isinstance(m.get("custom"), dict))
    return str(custom["kind"]), custom


def scrape(stack: Stack, process: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = requests.get(stack.metrics_urls()[process], timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_a_conversation_mix_is_counted_in_each_process(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:10]}"
    kinds: list[str] = []
    urgencies: list[str] = []
    for text in MIX:
        kind, custom = kind_of(send(stack, sender, text))
        kinds.append(kind)
        if kind == "handoff":
            urgencies.append(str(custom["urgency"]))
    assert {"answer", "chitchat", "handoff"} <= set(kinds), kinds

    rasa, actions, staff = scrape(stack, "rasa"), scrape(stack, "actions"), scrape(stack, "staff")
    for kind in set(kinds):
        assert total(rasa, "bot_channel_turns_total", channel="rest", kind=kind) == kinds.count(kind)
        assert total(actions, "bot_turns_total", channel="rest", kind=kind) == kinds.count(kind)
    assert total(rasa, "bot_fallback_replies_total") == 0
    for urgency in set(urgencies):
        assert total(actions, "bot_handoffs_total", urgency=urgency) == urgencies.count(urgency)
        assert total(staff, "bot_open_tickets", urgency=urgency) == urgencies.count(urgency)
    # Retrieval runs only when the intent and the medicine do not pick the fact (none in this mix through Rasa).
    for stage in ("safety", "respond"):
        assert total(actions, "bot_stage_seconds_count", stage=stage) > 0, stage
    assert total(actions, "bot_stage_seconds_count", stage="respond") == len(MIX)
    assert total(rasa, "bot_channel_turn_seconds_count", channel="rest") == len(MIX)
    assert total(staff, "bot_handoff_store_up") == 1
    assert total(staff, "bot_outbox_backlog") == len(urgencies)  # no STAFF_WEBHOOK_URL: they stay queued
    # No sender id and no message text in any label.
    for samples in (rasa, actions, staff):
        values = {v for _, labels in samples for _, v in labels}
        assert sender not in values and not values & set(MIX)


def test_refused_calls_are_counted(stack: Stack) -> None:
    resp = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": "x", "message": "hi"}, timeout=10)
    assert resp.status_code == 401
    assert total(scrape(stack, "rasa"), "bot_refused_requests_total", channel="rest") >= 1
    resp = requests.post(f"http://127.0.0.1:{stack.ports.actions}/webhook", json={}, timeout=10)
    assert resp.status_code == 401
    assert total(scrape(stack, "actions"), "bot_refused_calls_total") >= 1


def fallback_alert_fires(before: dict[str, float], after: dict[str, float], firing: bool, tmp_path: Path) -> bool:
    """Whether promtool, evaluating alerts.yml on counters that go from `before` to `after` (then stay), agrees
    that BotFallbackRateHigh is `firing` 10 minutes later."""
    series = [
        {"series": f'{name}{{channel="rest"}}', "values": f"{before[name]:g}x5 {after[name]:g}x20"}
        for name in ("bot_fallback_replies_total", "bot_channel_turns_total")
    ]
    rules = yaml.safe_load(ALERTS.read_text())
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "BotFallbackRateHigh")
    expected = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}] if firing else []
    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "10m", "alertname": "BotFallbackRateHigh", "exp_alerts": expected}],
            }
        ],
    }
    path = tmp_path / f"scraped_{firing}_test.yml"
    path.write_text(yaml.safe_dump(test))
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is needed to evaluate the alert rules"
    run = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False)
    return run.returncode == 0


def test_with_the_action_server_down_fallbacks_rise_and_the_alert_fires(stack: Stack, tmp_path: Path) -> None:
    names = ("bot_fallback_replies_total", "bot_channel_turns_total")
    before = {n: total(scrape(stack, "rasa"), n) for n in names}
    assert fallback_alert_fires(before, before, False, tmp_path)
    stack.stop("actions")
    try:
        sender = f"e2e-{uuid.uuid4().hex[:10]}"
        questions = ("what are the side effects of methotrexate?", "is dupilumab an injection?", "hello")
        for text in questions:
            kind, custom = kind_of(send(stack, sender, text))
            assert (kind, custom.get("reason")) == ("abstain", "unavailable")  # the channel's fallback reply
        rasa = scrape(stack, "rasa")
        after = {n: total(rasa, n) for n in names}
        assert after["bot_fallback_replies_total"] - before["bot_fallback_replies_total"] == len(questions)
        assert total(rasa, "bot_channel_turns_total", kind="fallback") == len(questions)
        assert fallback_alert_fires(before, after, True, tmp_path)
        assert not fallback_alert_fires(before, after, False, tmp_path)
    finally:
        stack.start_process("actions")
        stack.wait_ready(400, ("actions",))
