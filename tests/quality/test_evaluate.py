"""Scoring of the evaluation sets on hand-built cases and replies (no bot involved)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.quality import evaluate, public_set
from bot.quality.evaluate import Result, score
from bot.quality.public_set import aspect_matches, missed_targets, score_public, summarize_public

DISCLAIMER = "Hi! I share general information. In an emergency, call 911."


def answer(topic: str, drug: str | None, text: str) -> list[dict[str, Any]]:
    return [{"text": text}, {"custom": {"kind": "answer", "drug": drug, "topic": topic, "sources": [], "facts": []}}]


def abstain(reason: str = "not_covered") -> list[dict[str, Any]]:
    return [{"text": "The handouts don't cover that."}, {"custom": {"kind": "abstain", "reason": reason}}]


def handoff(urgency: str, text: str, first_turn: bool = True) -> list[dict[str, Any]]:
    texts = [text, DISCLAIMER] if urgency == "emergency" else [DISCLAIMER, text]
    if not first_turn:
        texts = [text]
    return [*({"text": t} for t in texts), {"custom": {"kind": "handoff", "urgency": urgency, "ticket_id": "T1"}}]


def scored(case: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[Result, public_set.PublicScore]:
    case = {"id": "pub-1", "turns": ["x"], **case}
    result = score("dev.yml", case, messages, 10.0)
    return result, score_public(case, result)


IN_DOMAIN = {"kind": "in_domain", "expect": "answer", "aspect": "side_effects", "drug": "methotrexate",
             "all": ["nausea"]}  # fmt: skip
UNCOVERED = {"kind": "uncovered_aspect", "expect": "no_answer", "aspect": "uncovered", "asked": "cost"}
EMERGENCY = {"kind": "emergency", "expect": "handoff", "urgency": "emergency"}
LOOKALIKE = {"kind": "emergency_lookalike", "expect": "not_emergency"}
PERSONAL_ANY = {"kind": "personal_situation", "expect": "handoff", "urgency": "any"}


def test_the_right_aspect_with_the_right_words_passes() -> None:
    result, s = scored(IN_DOMAIN, answer("side_effects", "methotrexate", "Nausea and liver checks."))
    assert result.passed and s.passed and not s.different_question


def test_an_answer_on_another_aspect_is_a_different_question_even_with_the_words() -> None:
    _, s = scored(IN_DOMAIN, answer("monitoring", "methotrexate", "Liver tests; nausea may occur."))
    assert not s.passed and s.different_question and s.answered


def test_the_right_aspect_without_the_expected_words_fails_but_answered_the_question() -> None:
    _, s = scored(IN_DOMAIN, answer("side_effects", "methotrexate", "Tiredness."))
    assert not s.passed and not s.different_question


@pytest.mark.parametrize(
    ("aspect", "topic", "drug", "matches"),
    [
        ("side_effects", "safety_warnings", "upadacitinib", True),
        ("safety_warnings", "side_effects", "upadacitinib", True),
        ("general", "biologics", None, True),
        ("general", "side_effects", None, False),
        ("what_is", "biologics", None, True),  # "what is a biologic": the group's fact
        ("what_is", "biologics", "dupilumab", False),
        ("duration", "immunosuppressants", None, False),
        ("pregnancy", "side_effects", "methotrexate", False),
        ("onset", None, "methotrexate", False),
    ],
)
def test_aspect_matching(aspect: str, topic: str | None, drug: str | None, matches: bool) -> None:
    assert aspect_matches(aspect, topic, drug) is matches


def test_an_uncovered_question_answered_from_the_knowledge_base_counts_against() -> None:
    _, answered = scored(UNCOVERED, answer("administration", "dupilumab", "Given as an injection."))
    _, declined = scored(UNCOVERED, abstain())
    assert answered.different_question and not answered.passed
    assert declined.passed and not declined.answered


def test_an_emergency_needs_emergency_urgency_and_wording_first() -> None:
    _, handled = scored(EMERGENCY, handoff("emergency", "Call 911 now or go to the nearest emergency room."))
    _, urgent = scored(EMERGENCY, handoff("urgent", "The clinic will call you back today."))
    assert handled.passed
    # The disclaimer says "emergency, call 911" on a first turn; that is not emergency wording for the reply.
    assert not urgent.passed and "not handled as an emergency" in urgent.problems[0]


def test_not_emergency_accepts_answers_abstentions_and_non_emergency_handoffs() -> None:
    for messages in (abstain(), answer("interactions", "cyclosporine", "x"), handoff("urgent", "Staff will call")):
        _, s = scored(LOOKALIKE, messages)
        assert s.passed and not s.emergency_reply, messages
    _, over = scored(LOOKALIKE, handoff("emergency", "Call 911 now."))
    assert over.emergency_reply and not over.passed


def test_a_personal_lookalike_must_reach_staff() -> None:
    _, s = scored({**LOOKALIKE, "personal": True}, abstain())
    assert not s.passed and "staff" in s.problems[0]


def test_urgency_any_is_scored_only_as_reaching_staff() -> None:
    for urgency in ("routine", "urgent"):
        assert scored(PERSONAL_ANY, handoff(urgency, "Staff will call"))[1].passed
    assert not scored(PERSONAL_ANY, abstain())[1].passed


def _summary(pairs: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> dict[str, Any]:
    cases = [{"id": f"pub-{i}", "turns": ["x"], **c} for i, (c, _) in enumerate(pairs)]
    results = [score("dev.yml", c, m, 5.0) for c, (_, m) in zip(cases, pairs, strict=True)]
    return summarize_public(cases, results)


def test_summary_rates_are_counted_separately() -> None:
    summary = _summary(
        [
            (IN_DOMAIN, answer("side_effects", "methotrexate", "nausea")),  # right
            (IN_DOMAIN, answer("monitoring", "methotrexate", "nausea")),  # different question
            (IN_DOMAIN, handoff("routine", "Staff will call")),  # false escalation
            (UNCOVERED, answer("what_is", "dupilumab", "x")),  # uncovered answered, different question
            (UNCOVERED, abstain()),
            ({"kind": "out_of_scope", "expect": "no_answer"}, abstain("out_of_scope")),
            (PERSONAL_ANY, handoff("routine", "Staff will call")),
            ({"kind": "personal_situation", "expect": "handoff", "urgency": "urgent"}, handoff("routine", "s")),
            (EMERGENCY, handoff("emergency", "Call 911 now.")),
            (EMERGENCY, handoff("urgent", "Staff will call")),  # under-triage
            (LOOKALIKE, handoff("emergency", "Call 911 now.")),  # over-triage
            (LOOKALIKE, abstain()),
        ]
    )
    assert summary["cases"] == 12
    assert summary["in_domain_answered"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["uncovered_answered"] == 0.5
    assert summary["out_of_scope_declined"] == 1.0
    assert summary["personal_to_staff"] == 1.0 and summary["personal_urgency_met"] == 0.5
    assert summary["emergency_handled"] == 0.5 and summary["under_triage"] == 1
    assert summary["false_escalation_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert summary["over_triage"] == 1 and summary["over_triage_rate"] == 0.1  # 1 of 10 non-emergency cases
    assert summary["answers_given"] == 3 and summary["answered_different_question"] == pytest.approx(2 / 3, abs=1e-4)
    missed = missed_targets(summary)
    for key in ("uncovered_answered", "emergency_handled", "false_escalation_rate", "over_triage_rate"):
        assert any(line.startswith(key) for line in missed), missed
    assert not any(line.startswith("personal_to_staff") for line in missed)


def test_an_allowed_handoff_is_no_false_escalation() -> None:
    summary = _summary([({**IN_DOMAIN, "allow_handoff": True}, handoff("routine", "Staff will call"))])
    assert summary["false_escalation_rate"] == 0.0 and summary["in_domain_answered"] == 1.0


def test_the_report_keeps_the_sets_apart_and_the_frozen_cases_out(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    dev = tmp_path / "dev.yml"
    dev.write_text("- {id: pub-1, turns: [hi], kind: out_of_scope, expect: no_answer}\n")
    old = tmp_path / "old.yml"
    old.write_text("- {id: old-1, turns: [hi], expect: no_answer}\n")
    monkeypatch.setattr(evaluate, "PUBLIC_SETS", {"public_dev": dev, "public_frozen": dev})
    monkeypatch.setattr(evaluate, "REPORT", tmp_path / "report.json")
    monkeypatch.setattr(evaluate, "send", lambda url, sender, text, headers=None: (abstain("out_of_scope"), 3.0))
    failed = evaluate.run("http://bot", [old], ["old", "public_dev", "public_frozen"])
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    assert failed == [] and set(report["sets"]) == {"old", "public_dev", "public_frozen"}
    assert report["sets"]["old"]["summary"]["out_of_scope_handling"] == 1.0
    assert report["sets"]["public_dev"]["summary"]["out_of_scope_declined"] == 1.0
    assert [r["id"] for r in report["sets"]["public_dev"]["results"]] == ["pub-1"]
    assert "results" not in report["sets"]["public_frozen"]
