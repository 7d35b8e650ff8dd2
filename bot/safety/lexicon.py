"""The safety screen's reviewed data (``bot/safety/data/*.yml``): categories, red-flag patterns, cue lexicons and
exemplars. Loaded and checked on first use (never at import); a bad file raises SafetyDataError naming the file,
the category or lexicon, and the pattern.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import Field

from bot.constants import Urgency
from bot.nlp.lexicon import (
    NEVER_FUZZY_PATH,
    NOT_MEDICINES_PATH,
    OTHER_MEDICINES_PATH,
    Reviewed,
    ReviewedEntry,
    SafetyDataError,
    Words,
    check_names,
    check_words,
    never_fuzzy,
    not_medicines,
    other_medicines,
    parse,
    parse_section,
    read_yaml,
    reviewed_entries,
)
from bot.nlp.patterns import pattern_problem

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES_PATH = DATA_DIR / "categories.yml"
RED_FLAGS_PATH = DATA_DIR / "red_flags.yml"
CUES_PATH = DATA_DIR / "cues.yml"
EXEMPLARS_PATH = DATA_DIR / "exemplars.yml"
DATA_FILES: tuple[Path, ...] = (
    CATEGORIES_PATH,
    RED_FLAGS_PATH,
    CUES_PATH,
    EXEMPLARS_PATH,
    OTHER_MEDICINES_PATH,
    NEVER_FUZZY_PATH,
    NOT_MEDICINES_PATH,
)


@dataclass(frozen=True)
class Category:
    urgency: Urgency
    reason: str


class _CategoryEntry(Reviewed):
    urgency: Urgency
    reason: str = Field(min_length=3)


class _Patterns(Reviewed):
    patterns: list[str] = Field(min_length=1)


class _Regex(Reviewed):
    regex: str = Field(min_length=1)


class _Sentences(Reviewed):
    sentences: list[str] = Field(min_length=1)


@cache
def load_categories(path: Path = CATEGORIES_PATH) -> dict[str, Category]:
    """Category -> base urgency and reason for staff, in file order (the first listed wins ties)."""
    entries = parse_section(_CategoryEntry, read_yaml(path), path, "categories")
    return {name: Category(e.urgency, e.reason) for name, e in entries.items()}


# ------------------------------------------------------------------------------------------ red flags

# The word sets and regexes the red-flag matcher reads.
WORD_SETS = (
    "not_infection_before",
    "not_infection_after",
    "not_an_amount_after",
    "not_a_change_before",
    "needs_medicine",
    "dose_timing",
    "dose_amount",
    "negation_before",
    "negation_pseudo",
    "negation_after",
    "copula",
    "second_dose",
    "large_amount",
)
REGEXES = ("persistent", "fever_words", "fever_danger", "pseudo", "alarm_signs")
_MACRO = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class RedFlagData:
    """The red-flag tables, macros expanded: pattern key ("category" or "category:kind") -> patterns."""

    patterns: dict[str, tuple[str, ...]]
    medicine_names: tuple[str, ...]
    word_sets: dict[str, frozenset[str]]
    regexes: dict[str, re.Pattern[str]]


def _expand(text: str, macros: dict[str, str], path: Path, where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            known = ", ".join(macros) or "none"
            raise SafetyDataError(f"{path.name}: {where}: pattern {text!r}: unknown macro {{{name}}}; known: {known}")
        return macros[name]

    return _MACRO.sub(value, text)


@cache
def load_red_flags(path: Path = RED_FLAGS_PATH, categories_path: Path = CATEGORIES_PATH) -> RedFlagData:
    raw = read_yaml(path)
    categories = load_categories(categories_path)
    macros: dict[str, str] = {}
    # a macro may use the macros defined before it ({medicine_names} inside {med})
    for name, macro in parse_section(Words, raw, path, "macros").items():
        check_words(path, f"macro {name!r}", macro.words, single_token=True)
        macros[name] = _expand("|".join(macro.words), macros, path, f"macro {name!r}")
    patterns: dict[str, tuple[str, ...]] = {}
    for key, entry in parse_section(_Patterns, raw, path, "categories").items():
        where = f"category {key!r}"
        if key.partition(":")[0] not in categories:
            raise SafetyDataError(f"{path.name}: {where}: unknown category; known: {', '.join(categories)}")
        expanded = []
        for text in entry.patterns:
            pattern = _expand(text, macros, path, where)
            problem = pattern_problem(pattern)
            if problem:
                raise SafetyDataError(f"{path.name}: {where}: pattern {text!r}: {problem}")
            expanded.append(pattern)
        patterns[key] = tuple(expanded)
    word_sets = parse_section(Words, raw, path, "word_sets")
    check_names(path, "word set", word_sets, WORD_SETS)
    for name, words in word_sets.items():
        check_words(path, f"word set {name!r}", words.words, single_token=True)
    for category in word_sets["needs_medicine"].words:
        if category not in categories:
            raise SafetyDataError(f"{path.name}: word set 'needs_medicine': unknown category {category!r}")
    regexes = parse_section(_Regex, raw, path, "regexes")
    check_names(path, "regex", regexes, REGEXES)
    compiled = {}
    for name, regex in regexes.items():
        try:
            compiled[name] = re.compile(regex.regex)
        except re.error as exc:
            raise SafetyDataError(f"{path.name}: regex {name!r}: pattern {regex.regex!r}: invalid: {exc}") from exc
    if "medicine_names" not in macros:
        raise SafetyDataError(f"{path.name}: macro 'medicine_names': missing")
    return RedFlagData(
        patterns=patterns,
        medicine_names=tuple(macros["medicine_names"].split("|")),
        word_sets={name: frozenset(w.words) for name, w in word_sets.items()},
        regexes=compiled,
    )


# ------------------------------------------------------------------------------------------ cues

# Lexicons of single words (used as alternatives of one token or as word sets) and of patterns.
CUE_WORDS = (
    "person",
    "generic_before",
    "generic_plural",
    "possessive",
    "body",
    "state",
    "stateful_person",
    "need",
    "question_start",
    "clause_break",
    "subjectless_state",
)
CUE_PATTERNS = ("permission", "time", "general", "hypothetical", "not_current", "general_framing", "reassurance")


@dataclass(frozen=True)
class CueData:
    words: dict[str, tuple[str, ...]]
    patterns: dict[str, tuple[str, ...]]

    def alternatives(self, name: str) -> str:
        """A word lexicon as one notation token ("i|im|my|...")."""
        return "|".join(self.words[name])


@cache
def load_cues(path: Path = CUES_PATH) -> CueData:
    raw = read_yaml(path)
    lexicons = raw.get("lexicons")
    if not isinstance(lexicons, dict):
        raise SafetyDataError(f"{path.name}: needs a non-empty mapping 'lexicons' (lexicon -> entry)")
    check_names(path, "lexicon", lexicons, (*CUE_WORDS, *CUE_PATTERNS))
    words: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, tuple[str, ...]] = {}
    for name in CUE_WORDS:
        entry = parse(Words, lexicons[name], path, f"lexicon {name!r}")
        check_words(path, f"lexicon {name!r}", entry.words, single_token=True)
        words[name] = tuple(entry.words)
    for name in CUE_PATTERNS:
        found = parse(_Patterns, lexicons[name], path, f"lexicon {name!r}")
        for text in found.patterns:
            problem = pattern_problem(text)
            if problem:
                raise SafetyDataError(f"{path.name}: lexicon {name!r}: pattern {text!r}: {problem}")
        patterns[name] = tuple(found.patterns)
    return CueData(words, patterns)


# ------------------------------------------------------------------------------------------ exemplars


class ExemplarError(SafetyDataError):
    """The exemplar file is invalid; the message names the file and the category."""


@dataclass(frozen=True)
class Exemplars:
    by_category: dict[str, list[str]]
    general: list[str]


def load_exemplars(path: Path = EXEMPLARS_PATH, categories_path: Path = CATEGORIES_PATH) -> Exemplars:
    """Read and check the exemplar file: known categories, each with a reviewed date and sentences."""
    raw = read_yaml(path)
    categories = load_categories(categories_path)
    if not isinstance(raw.get("categories"), dict):
        raise ExemplarError(f"{path.name}: needs a mapping 'categories' (category -> reviewed, sentences)")
    by_category: dict[str, list[str]] = {}
    for category, entry in raw["categories"].items():
        where = f"category {category!r}"
        if category not in categories:
            raise ExemplarError(f"{path.name}: {where}: unknown; known: {', '.join(categories)}")
        if not isinstance(entry, dict) or not _sentences(entry.get("sentences")):
            raise ExemplarError(f"{path.name}: {where}: must have a non-empty list of sentences")
        by_category[category] = parse(_Sentences, entry, path, where).sentences
    general = raw.get("general", {"reviewed": None, "sentences": []})
    if not isinstance(general, dict) or not _sentences(general.get("sentences"), empty=True):
        raise ExemplarError(f"{path.name}: 'general' must be a list of sentences (with a reviewed date)")
    if "general" in raw:
        parse(Reviewed, {k: general.get(k) for k in ("reviewed", "note")}, path, "'general'")
    return Exemplars(by_category, list(general["sentences"]))


def _sentences(value: object, *, empty: bool = False) -> bool:
    return isinstance(value, list) and (empty or bool(value)) and all(isinstance(s, str) for s in value)


# ------------------------------------------------------------------------------------------ review


def check_all() -> None:
    """Load every safety data file (raises SafetyDataError on the first bad one)."""
    load_categories()
    load_red_flags()
    load_cues()
    load_exemplars()
    other_medicines()
    never_fuzzy()
    not_medicines()


def safety_entries(files: tuple[Path, ...] = DATA_FILES) -> list[ReviewedEntry]:
    """Every reviewed entry of the safety data files, in file order."""
    return [entry for path in files for entry in reviewed_entries(path)]


def stale_entries(today: dt.date, window_days: int, files: tuple[Path, ...] = DATA_FILES) -> list[ReviewedEntry]:
    """Safety data entries whose last review is older than the window, oldest first."""
    cutoff = today - dt.timedelta(days=window_days)
    return sorted((e for e in safety_entries(files) if e.reviewed < cutoff), key=lambda e: e.reviewed)
