"""What a message asks about: topic, general topic, "which" attribute; the wording file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.understanding import (
    WORDING_FILE,
    WordingError,
    asks_for_a_list,
    general_topic_in_text,
    load_wording,
    sounds_like_comparison,
    topics_in_text,
    which_question,
)


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("what are the side effects", ["side_effects"]),
        ("does it need blood tests and how fast does it work", ["monitoring", "onset"]),
        ("how fast does it work and does it need blood tests", ["onset", "monitoring"]),
        ("is it safe while breastfeeding", ["pregnancy"]),
        ("how does it work", ["mechanism"]),
        ("tell me about my son", []),
        # the public's words for a topic, and a word that only looks like one
        ("what is the downside of it", ["side_effects"]),
        ("is it a lifelong thing", ["duration"]),
        ("is it first line or a last resort", ["guidelines"]),
        ("a paper for my nursing program: how does it work", ["mechanism"]),
        ("is it safe when nursing a baby", ["pregnancy"]),
    ],
)
def test_topics_are_found_in_the_order_they_are_named(text: str, topics: list[str]) -> None:
    assert topics_in_text(text) == topics


@pytest.mark.parametrize(
    ("text", "attribute", "is_list"),
    [
        ("which ones are shots", "injection", True),
        ("which medicines don't suppress the immune system", "not_immune", True),
        ("are there pills for eczema", "mouth", True),
        ("does it suppress the immune system", "immune", False),
        ("what is the fastest one", "fastest", True),
    ],
)
def test_which_questions_name_an_attribute(text: str, attribute: str, is_list: bool) -> None:
    assert which_question(text) == attribute
    assert asks_for_a_list(text) is is_list


def test_general_topics_and_comparisons_by_wording() -> None:
    assert general_topic_in_text("explain the light switch thing") == "analogy"
    assert general_topic_in_text("what is methotrexate") is None
    assert sounds_like_comparison("dupixent vs rinvoq")
    assert not sounds_like_comparison("what is dupixent")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "understanding.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_wording_file_loads() -> None:
    wording = load_wording(WORDING_FILE)
    assert "side_effects" in wording.topics and "analogy" in wording.general


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("interactions: 'interact\\w*'", "interactions: 'interact(\\w*'", "topic_words: interactions: invalid pattern"),
        ("interactions: 'interact\\w*'", "interactions: ''", "topic_words: interactions: the pattern must be"),
        ("comparison:", "comparisons:", "comparison: comparison: the pattern must be"),
        ("immunosuppressant: immune\n", "immunosuppressant: immunity\n", "class_topics: unknown class or topic"),
    ],
)
def test_a_bad_wording_file_names_the_file_table_and_key(tmp_path: Path, replace: str, by: str, message: str) -> None:
    original = WORDING_FILE.read_text(encoding="utf-8")
    assert replace in original
    path = _write(tmp_path, original.replace(replace, by))
    with pytest.raises(WordingError, match=f"understanding.yml: {message}"):
        load_wording(path)
