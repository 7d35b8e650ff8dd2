"""What a message asks about: intents and wording mapped to knowledge-base topics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

# Rasa intent -> the knowledge-base topics it asks for, most specific first.
TOPIC_INTENTS: dict[str, tuple[str, ...]] = {
    "ask_what_is": ("what_is",),
    "ask_mechanism": ("mechanism",),
    "ask_administration": ("administration",),
    "ask_onset": ("onset",),
    "ask_monitoring": ("monitoring",),
    "ask_side_effects": ("side_effects", "safety_warnings"),
    "ask_pregnancy": ("pregnancy",),
    "ask_immune": ("immune", "safety_warnings"),
    "ask_approval": ("approval",),
    "ask_duration": ("duration",),
    "ask_interactions": ("interactions",),
    "ask_recommendation": ("guidelines", "what_is"),
}

# Questions about systemic medicines in general; the topic of the "general" pseudo-medicine is chosen from the
# wording (general_topic_in_text) or by retrieval among the general facts.
GENERAL_INTENT = "ask_general"
DEFAULT_GENERAL_TOPIC = "systemic_overview"

CHITCHAT_INTENTS: dict[str, str] = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thank": "thanks",
    "bot_challenge": "bot_challenge",
    "affirm": "affirm",
    "deny": "affirm",
}

SAFETY_INTENTS = frozenset(
    {"report_symptom", "dose_change", "pregnancy_situation", "interaction_personal", "request_human", "emergency"}
)

WORDING_FILE = Path(__file__).resolve().parent / "understanding.yml"
_TABLES = ("topic_words", "general_words", "which_words", "class_words")
_SINGLE = ("comparison", "list_question", "yes_answer", "no_answer", "medicine_words", "question_opening")
_WORD_LISTS = ("filler", "topic_parts")


class WordingError(ValueError):
    """understanding.yml is invalid; the message names the file, the table and the key."""


@dataclass(frozen=True)
class Wording:
    """The compiled tables of understanding.yml: key -> pattern, in file order."""

    topics: dict[str, re.Pattern[str]]
    general: dict[str, re.Pattern[str]]
    which: dict[str, re.Pattern[str]]
    classes: dict[str, re.Pattern[str]]  # drug_class -> wording that names the class
    class_topics: dict[str, str]  # drug_class -> the topic its name implies ("immune suppressants": immune)
    comparison: re.Pattern[str]
    list_question: re.Pattern[str]
    yes: re.Pattern[str]
    no: re.Pattern[str]
    medicines: re.Pattern[str]
    question_opening: re.Pattern[str]
    filler: frozenset[str]
    topic_parts: frozenset[str]


def compile_pattern(where: str, pattern: object, error: type[ValueError] = ValueError) -> re.Pattern[str]:
    """A case-insensitive pattern from a data file; a bad one raises `error` naming `where` (file, table, key)."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise error(f"{where}: the pattern must be a non-empty string")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise error(f"{where}: invalid pattern {pattern!r}: {exc}") from exc


def _compile(path: Path, table: str, key: str, pattern: object) -> re.Pattern[str]:
    return compile_pattern(f"{path.name}: {table}: {key}", pattern, WordingError)


def load_wording(path: Path = WORDING_FILE) -> Wording:
    """Read and compile the wording tables; errors name the file, the table and the key."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise WordingError(f"{path.name}: must be a mapping of tables")
    tables: dict[str, dict[str, re.Pattern[str]]] = {}
    for table in _TABLES:
        entries = raw.get(table)
        if not isinstance(entries, dict) or not entries:
            raise WordingError(f"{path.name}: {table}: must be a non-empty mapping of key -> pattern")
        tables[table] = {str(k): _compile(path, table, str(k), v) for k, v in entries.items()}
    single = {name: _compile(path, name, name, raw.get(name)) for name in _SINGLE}
    words: dict[str, frozenset[str]] = {}
    for name in _WORD_LISTS:
        value = raw.get(name)
        if not isinstance(value, str) or not value.split():
            raise WordingError(f"{path.name}: {name}: must be a non-empty string of words")
        words[name] = frozenset(value.split())
    class_topics = {str(k): str(v) for k, v in (raw.get("class_topics") or {}).items()}
    if bad := {
        k: v for k, v in class_topics.items() if k not in tables["class_words"] or v not in tables["topic_words"]
    }:
        raise WordingError(f"{path.name}: class_topics: unknown class or topic in {bad}")
    unknown = set(raw) - set(_TABLES) - set(_SINGLE) - set(_WORD_LISTS) - {"class_topics"}
    if unknown:
        raise WordingError(f"{path.name}: unknown table(s) {', '.join(sorted(unknown))}")
    return Wording(
        tables["topic_words"],
        tables["general_words"],
        tables["which_words"],
        tables["class_words"],
        class_topics,
        single["comparison"],
        single["list_question"],
        single["yes_answer"],
        single["no_answer"],
        single["medicine_words"],
        single["question_opening"],
        words["filler"],
        words["topic_parts"],
    )


@lru_cache(maxsize=1)
def wording() -> Wording:
    return load_wording()


def topics_in_text(text: str) -> list[str]:
    """Topics named in the text, in the order they appear."""
    found: list[tuple[int, str]] = []
    for topic, pattern in wording().topics.items():
        match = pattern.search(text)
        if match:
            found.append((match.start(), topic))
    return [topic for _, topic in sorted(found)]


def speaks_of_medicines(text: str) -> bool:
    """Whether the text refers to medicines at all ("does dairy cause flares" does not)."""
    return bool(wording().medicines.search(text))


def sounds_like_comparison(text: str) -> bool:
    return bool(wording().comparison.search(text))


def general_topic_in_text(text: str) -> str | None:
    return next((topic for topic, p in wording().general.items() if p.search(text)), None)


def which_question(text: str) -> str | None:
    """The attribute a "which medicines..." question is about, or None."""
    return next((k for k, p in wording().which.items() if p.search(text)), None)


def classes_in_text(text: str) -> list[tuple[str, str]]:
    """The classes of medicines the text names ("biologics", "immune suppressing medicines"), as (drug_class,
    the words that named it)."""
    return [(key, m.group(0)) for key, pattern in wording().classes.items() if (m := pattern.search(text))]


def class_topic(drug_class: str) -> str | None:
    """The topic a class's own name implies (immune suppressants: immune), which its general fact answers."""
    return wording().class_topics.get(drug_class)


def opens_like_a_question(sentence: str) -> bool:
    """A sentence worded as a question, for messages that ask without a "?" ("is dupixent like that too or no")."""
    return bool(wording().question_opening.search(sentence))


def asks_for_a_list(text: str) -> bool:
    """True for questions across the medicines ("are there shots for eczema", "which ones are pills")."""
    return bool(wording().list_question.search(text))


def yes_or_no(text: str, intent: str | None) -> bool | None:
    """The answer to a yes/no question, or None when the message is about something else."""
    if wording().yes.match(text) or intent == "affirm":
        return True
    if wording().no.match(text) or intent == "deny":
        return False
    return None


# Topics answered first when a message names several.
SAFETY_FIRST = ("safety_warnings", "pregnancy", "interactions")


def topic_alternatives(topic: str) -> tuple[str, ...]:
    """A topic with the fallbacks its intent allows (side effects -> boxed warnings)."""
    return next((alts for alts in TOPIC_INTENTS.values() if alts[0] == topic), (topic,))


def has_content(text: str) -> bool:
    """True when the text says more than filler and topic words ("what are the side effects?" does not)."""
    words = [w.strip("?.!,'\"") for w in text.lower().split()]
    return any(w and w not in wording().filler and not _is_topic_word(w) for w in words)


def _is_topic_word(word: str) -> bool:
    return bool(topics_in_text(word)) or word in wording().topic_parts


def only_names(text: str) -> bool:
    """True when, names aside, the message is only filler ("methotrexate?", "what about MTX")."""
    words = [w.strip("?.!,") for w in text.lower().split()]
    return all(w in wording().filler for w in words if w)
