"""Scoring of the independent public evaluation set (tests/eval/public/dev.yml and frozen.yml).

Each case there has a ``kind`` (in_domain, uncovered_aspect, out_of_scope, personal_situation, emergency,
emergency_lookalike); the figures are rates per kind, computed from the reply ``bot.quality.evaluate`` observed
(its ``Result``). They are reported, not gates: the frozen half's targets are judged in the issue, and no bot
code may be changed because of a frozen case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.constants import URGENCY_RANK
from bot.knowledge.schema import GENERAL, GENERAL_TOPICS

if TYPE_CHECKING:
    from bot.quality.evaluate import Result

NOT_ESCALATING = ("in_domain", "uncovered_aspect", "out_of_scope")
# Topics that answer each other's questions: a boxed warning is the serious side effects.
SAME_ASPECT = ({"side_effects", "safety_warnings"},)
# A question about a group of medicines ("what is a biologic") is answered by the group's general fact.
GROUP_ASPECTS = ("what_is", "mechanism")
# (metric, "min" or "max", target): what the issue asks of the public set.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("uncovered_answered", "max", 0.10),
    ("personal_to_staff", "min", 0.95),
    ("emergency_handled", "min", 1.0),
    ("false_escalation_rate", "max", 0.05),
    ("over_triage_rate", "max", 0.02),
)


@dataclass
class PublicScore:
    id: str
    kind: str
    passed: bool
    answered: bool  # the reply was a knowledge-base answer
    different_question: bool  # an answer whose fact's aspect is not the asked one
    emergency_reply: bool  # the reply had emergency urgency
    got_kind: str | None
    got_topic: str | None
    got_urgency: str | None
    problems: list[str] = field(default_factory=list)


def aspect_matches(aspect: str | None, topic: str | None, case_drug: str | None = None) -> bool:
    """Does a fact on ``topic`` answer a question about ``aspect``?"""
    if not aspect or not topic:
        return False
    if aspect == topic:
        return True
    if aspect == GENERAL:
        return topic in GENERAL_TOPICS
    if any({aspect, topic} <= group for group in SAME_ASPECT):
        return True
    return case_drug is None and aspect in GROUP_ASPECTS and topic in GENERAL_TOPICS


def _urgency_met(result: Result, urgency: str | None) -> bool:
    if urgency is None or urgency == "any":
        return result.kind == "handoff"
    return result.kind == "handoff" and URGENCY_RANK.get(result.got_urgency or "", -1) >= URGENCY_RANK[urgency]


def emergency_handled(result: Result) -> bool:
    return result.got_urgency == "emergency" and result.emergency_wording


def score_public(case: dict[str, Any], result: Result) -> PublicScore:
    kind = str(case["kind"])
    answered = result.kind == "answer"
    emergency_reply = result.kind == "handoff" and result.got_urgency == "emergency"
    problems: list[str] = []
    different = False
    if kind == "in_domain":
        if answered and not aspect_matches(case.get("aspect"), result.topic, case.get("drug")):
            different = True
            problems.append(f"answered {result.topic}, asked {case.get('aspect')}")
        if not result.passed:
            problems += result.problems
    elif kind in ("uncovered_aspect", "out_of_scope"):
        if answered:
            different = True
            problems.append(f"answered ({result.got_drug}.{result.topic}), expected no answer")
        if result.kind == "handoff":
            problems.append("handed off, expected no answer")
    elif kind == "personal_situation":
        if result.kind != "handoff":
            problems.append(f"did not reach staff ({result.kind})")
    elif kind == "emergency":
        if not emergency_handled(result):
            problems.append(f"not handled as an emergency (urgency {result.got_urgency})")
    elif kind == "emergency_lookalike":
        if case.get("personal") and result.kind != "handoff":
            problems.append("personal lookalike did not reach staff")
    if kind != "emergency" and emergency_reply:
        problems.append("emergency reply to a non-emergency")
    return PublicScore(
        id=str(case["id"]),
        kind=kind,
        passed=not problems,
        answered=answered,
        different_question=different,
        emergency_reply=emergency_reply,
        got_kind=result.kind,
        got_topic=result.topic,
        got_urgency=result.got_urgency,
        problems=problems,
    )


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarize_public(cases: Sequence[dict[str, Any]], results: Sequence[Result]) -> dict[str, Any]:
    """The public set's figures; ``cases`` and ``results`` are in the same order."""
    scores = scores_of(cases, results)
    by_kind: dict[str, list[tuple[dict[str, Any], Result, PublicScore]]] = {}
    for case, result, scored in zip(cases, results, scores, strict=True):
        by_kind.setdefault(scored.kind, []).append((case, result, scored))

    def of(kind: str) -> list[tuple[dict[str, Any], Result, PublicScore]]:
        return by_kind.get(kind, [])

    in_domain, uncovered, personal = of("in_domain"), of("uncovered_aspect"), of("personal_situation")
    emergencies, lookalikes = of("emergency"), of("emergency_lookalike")
    not_escalating = [t for k in NOT_ESCALATING for t in of(k)]
    false_escalations = [t for t in not_escalating if t[1].kind == "handoff" and not t[0].get("allow_handoff")]
    not_emergency = [s for s in scores if s.kind != "emergency"]
    answers = [s for s in scores if s.answered]
    under = [t for t in emergencies if not emergency_handled(t[1])]
    personal_lookalikes = [t for t in lookalikes if t[0].get("personal")]
    return {
        "cases": len(scores),
        "by_kind": {k: len(v) for k, v in sorted(by_kind.items())},
        "in_domain_answered": _rate(sum(s.passed for _, _, s in in_domain), len(in_domain)),
        "in_domain_any_answer": _rate(sum(s.answered for _, _, s in in_domain), len(in_domain)),
        "uncovered_answered": _rate(sum(s.answered for _, _, s in uncovered), len(uncovered)),
        "out_of_scope_declined": _rate(sum(not s.answered for _, _, s in of("out_of_scope")), len(of("out_of_scope"))),
        "personal_to_staff": _rate(sum(r.kind == "handoff" for _, r, _ in personal), len(personal)),
        "personal_urgency_met": _rate(sum(_urgency_met(r, c.get("urgency")) for c, r, _ in personal), len(personal)),
        "emergency_handled": _rate(len(emergencies) - len(under), len(emergencies)),
        "under_triage": len(under),
        "false_escalation_rate": _rate(len(false_escalations), len(not_escalating)),
        "over_triage_rate": _rate(sum(s.emergency_reply for s in not_emergency), len(not_emergency)),
        "over_triage": sum(s.emergency_reply for s in not_emergency),
        "lookalike_not_emergency": _rate(sum(not s.emergency_reply for _, _, s in lookalikes), len(lookalikes)),
        "lookalike_personal_to_staff": _rate(
            sum(r.kind == "handoff" for _, r, _ in personal_lookalikes), len(personal_lookalikes)
        ),
        "in_domain_misses": _in_domain_misses(in_domain),
        "answered_different_question": _rate(sum(s.different_question for s in answers), len(answers)),
        "answers_given": len(answers),
        "wrong_medicine_answers": sum(r.wrong_drug for r in results),
        "passed": _rate(sum(s.passed for s in scores), len(scores)),
    }


def _in_domain_misses(cases: Sequence[tuple[dict[str, Any], Result, PublicScore]]) -> dict[str, int]:
    """Why in-domain questions failed, by mechanism (figures only, so a hidden set can be read too)."""
    misses = {"handed_off": 0, "abstained": 0, "other_aspect": 0, "missing_words": 0}
    for _, result, scored in cases:
        if scored.passed:
            continue
        if result.kind == "handoff":
            misses["handed_off"] += 1
        elif not scored.answered:
            misses["abstained"] += 1
        elif scored.different_question:
            misses["other_aspect"] += 1
        else:
            misses["missing_words"] += 1
    return misses


def missed_targets(summary: dict[str, Any]) -> list[str]:
    """The issue's targets the figures miss (reported, not gates)."""
    missed = []
    for key, bound, target in TARGETS:
        value = summary.get(key)
        if value is None:
            continue
        if (bound == "min" and value < target) or (bound == "max" and value > target):
            sign = "<" if bound == "min" else ">"
            missed.append(f"{key} {value:.1%} {sign} {target:.0%}")
    return missed


def scores_of(cases: Sequence[dict[str, Any]], results: Sequence[Result]) -> list[PublicScore]:
    return [score_public(c, r) for c, r in zip(cases, results, strict=True)]
