"""Reviewed word lists: YAML data whose entries each carry a ``reviewed`` date and an optional ``note``, checked
on load like the knowledge base. Errors name the file, the entry and what is wrong.

This module reads the lists of ``bot/nlp/data``; ``bot.safety.lexicon`` reads the safety screen's files with
the same helpers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA_DIR = Path(__file__).resolve().parent / "data"
OTHER_MEDICINES_PATH = DATA_DIR / "other_medicines.yml"
NEVER_FUZZY_PATH = DATA_DIR / "never_fuzzy.yml"
NOT_MEDICINES_PATH = DATA_DIR / "not_medicines.yml"

# Top-level sections of the data files -> what their entries are called in errors and in the audit.
SECTION_KINDS: dict[str, str] = {
    "categories": "category",
    "macros": "macro",
    "word_sets": "word set",
    "regexes": "regex",
    "lexicons": "lexicon",
}


class SafetyDataError(ValueError):
    """A safety data file is invalid. The message names the file, the entry (category or lexicon) and the
    pattern or field."""


class Reviewed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewed: dt.date
    note: str | None = None


class Words(Reviewed):
    words: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class ReviewedEntry:
    """One reviewed entry of a data file, for the audit."""

    file: str
    kind: str  # "category", "lexicon", ...
    name: str
    reviewed: dt.date


M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SafetyDataError(f"{path.name}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise SafetyDataError(f"{path.name}: must be a mapping of sections")
    return raw


def parse(model: type[M], raw: object, path: Path, where: str) -> M:
    """``raw`` as ``model``; a ValidationError becomes a SafetyDataError naming file, entry and field."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field [{' -> '.join(str(p) for p in err['loc']) or '(root)'}] {err['msg']}" for err in exc.errors()
        )
        raise SafetyDataError(f"{path.name}: {where}: {problems}") from exc


def parse_section(model: type[M], raw: dict[str, Any], path: Path, section: str) -> dict[str, M]:
    """The named entries of one section (``categories``, ``lexicons``, ...), in file order."""
    entries = raw.get(section)
    kind = SECTION_KINDS[section]
    if not isinstance(entries, dict) or not entries:
        raise SafetyDataError(f"{path.name}: needs a non-empty mapping {section!r} ({kind} -> entry)")
    return {str(name): parse(model, value, path, f"{kind} {name!r}") for name, value in entries.items()}


def check_names(path: Path, kind: str, found: Iterable[str], wanted: Iterable[str]) -> None:
    """The entries the code reads must all be there, and nothing else (a typo would be silently ignored)."""
    found, wanted = list(found), list(wanted)
    missing = [n for n in wanted if n not in found]
    extra = [n for n in found if n not in wanted]
    if missing:
        raise SafetyDataError(f"{path.name}: {kind} {missing[0]!r}: missing")
    if extra:
        raise SafetyDataError(f"{path.name}: {kind} {extra[0]!r}: unknown; known: {', '.join(wanted)}")


def check_words(path: Path, where: str, words: Iterable[str], *, single_token: bool) -> None:
    for word in words:
        bad = not word.strip() or word != " ".join(word.split())
        if single_token:
            bad = bad or " " in word or "|" in word
        if bad:
            raise SafetyDataError(f"{path.name}: {where}: word {word!r}: must be a single plain word")


def reviewed_entries(path: Path) -> list[ReviewedEntry]:
    """Every dated entry of a (valid) data file: the entries of its sections, and sections that are entries."""
    found = []
    for section, value in read_yaml(path).items():
        if isinstance(value, dict) and "reviewed" in value:
            found.append((section, section, value))
        elif isinstance(value, dict):
            kind = SECTION_KINDS.get(section, section)
            found += [(kind, str(name), entry) for name, entry in value.items() if isinstance(entry, dict)]
    return [ReviewedEntry(path.name, kind, name, _reviewed(entry, path, name)) for kind, name, entry in found]


def _reviewed(entry: dict[str, Any], path: Path, name: str) -> dt.date:
    return parse(Reviewed, {k: entry.get(k) for k in ("reviewed", "note")}, path, name).reviewed


def load_words(path: Path, *, single_token: bool) -> tuple[str, ...]:
    """Every word of every lexicon in the file, in file order."""
    raw = read_yaml(path)
    lexicons = parse_section(Words, raw, path, "lexicons")
    words: list[str] = []
    for name, lexicon in lexicons.items():
        check_words(path, f"lexicon {name!r}", lexicon.words, single_token=single_token)
        words += lexicon.words
    return tuple(words)


@cache
def other_medicines(path: Path = OTHER_MEDICINES_PATH) -> tuple[str, ...]:
    """Medicines and products the knowledge base does not cover and the drug dictionary lacks (names may have
    several words)."""
    return load_words(path, single_token=False)


@cache
def never_fuzzy(path: Path = NEVER_FUZZY_PATH) -> frozenset[str]:
    """Ordinary words never matched fuzzily."""
    return frozenset(load_words(path, single_token=True))


@dataclass(frozen=True)
class NotMedicines:
    """Dictionary names that are never a medicine mention: as written, or by a word of their generic name."""

    names: frozenset[str]
    generic_words: frozenset[str]


@cache
def not_medicines(path: Path = NOT_MEDICINES_PATH) -> NotMedicines:
    words = parse_section(Words, read_yaml(path), path, "lexicons")
    check_names(
        path,
        "lexicon",
        words,
        ("classes_and_body_substances", "named_in_answers", "ordinary_words_and_names", "generic_words"),
    )
    for name, lexicon in words.items():
        check_words(path, f"lexicon {name!r}", lexicon.words, single_token=name == "generic_words")
    generic = frozenset(w.lower() for w in words["generic_words"].words)
    names = frozenset(w.lower() for n, lexicon in words.items() if n != "generic_words" for w in lexicon.words)
    return NotMedicines(names, generic)
