"""The end-to-end evaluation (tests/eval/*.yml and the shared examples) must pass its gates."""

from __future__ import annotations

import pytest

from bot.quality.evaluate import SHARED_EXAMPLES, default_paths, evaluate, gates, print_report

pytestmark = pytest.mark.integration


def test_evaluation_gates_hold(stack) -> None:  # noqa: ANN001
    assert SHARED_EXAMPLES.exists(), "the shared example cases are part of the gate"
    summary, results = evaluate(stack.rasa_url, default_paths(), stack.ready_seconds, stack.rest_headers())
    print_report(summary, results)
    assert not gates(summary), gates(summary)
    shared = [r for r in results if r.file == SHARED_EXAMPLES.name]
    assert shared and all(r.passed for r in shared), [r.id for r in shared if not r.passed]
    # Misspelled and brand-name forms are answered as well as the plain form.
    by_id = {r.id: r for r in results}
    pairs = sorted({r.id[:-1] for r in results if r.id[-1] in "ab" and "-p" in r.id})
    assert len(pairs) >= 25
    unequal = [p for p in pairs if by_id[p + "a"].passed != by_id[p + "b"].passed]
    assert not unequal, unequal
