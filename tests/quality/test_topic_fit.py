"""The topic reader's weights are fitted on the dev sets only."""

from __future__ import annotations

from bot.quality import topic_fit
from bot.quality.evaluate import HIDDEN_SETS, PUBLIC_SETS


def test_the_fit_reads_no_hidden_set():
    hidden = {PUBLIC_SETS[name].stem for name in HIDDEN_SETS}
    assert hidden and not hidden & set(topic_fit.DEV_SETS)
    assert all((topic_fit.PUBLIC_DIR / f"{name}.yml").exists() for name in topic_fit.DEV_SETS)


def test_dev_questions_are_in_domain_questions_on_one_topic():
    questions = topic_fit.dev_questions()
    assert len(questions) > 300
    assert {case["kind"] for _, case in questions} == {"in_domain"}
