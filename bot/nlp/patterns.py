"""The pattern notation of the red-flag and cue tables, compiled to spaCy Matcher patterns.

Notation: tokens separated by spaces; "a|b" alternatives (compared with ``fuzzy_word``: exact, or one typo in
words of 7+ letters); a trailing "?" makes a token optional; "_{m,n}" skips m to n tokens; "/re/" is a regex on
the lowercase token; "#temp" is a body temperature; "#num" among alternatives also accepts a number.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.matcher.levenshtein import levenshtein

from bot.nlp.lexicon import never_fuzzy


def fuzzy_word(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for red-flag words: one typo in words of 7+ letters, two from 11 letters."""
    if input_text == pattern_text:
        return True
    if len(pattern_text) < 7 or len(input_text) < 6 or not input_text.isalpha():
        return False
    if input_text[0] != pattern_text[0] or input_text in never_fuzzy():
        return False
    budget = 1 if len(pattern_text) <= 10 else 2
    return bool(levenshtein(input_text, pattern_text, budget) <= budget)


_GAP_RE = re.compile(r"_\{(\d+),(\d+)\}")
_TEMP_RE = r"^(9[89]|10[0-7]|3[89]|40|41)([.,]\d+)?(f|c|°f|°c|°)?$"


def _token_spec(word: str) -> dict[str, Any]:
    gap = _GAP_RE.fullmatch(word)
    if gap:
        low, high = gap.groups()
        return {"OP": f"{{{low},{high}}}"}
    if word == "_":
        return {}
    optional = word.endswith("?") and len(word) > 1
    word = word[:-1] if optional else word
    spec: dict[str, Any]
    if word == "#temp":
        spec = {"LOWER": {"REGEX": _TEMP_RE}}
    elif word.startswith("/") and word.endswith("/") and len(word) > 2:
        spec = {"LOWER": {"REGEX": word[1:-1]}}
    else:
        alternatives = word.split("|")
        if "#num" in alternatives:
            alternatives.remove("#num")
            # "#num" inside alternatives: numbers like "5" or "five" count too
            spec = {"LOWER": {"FUZZY": {"IN": alternatives}}, "_num": True}
        else:
            spec = {"LOWER": {"FUZZY": {"IN": alternatives}}}
    if optional:
        spec["OP"] = "?"
    return spec


def compile_pattern(pattern: str) -> list[list[dict[str, Any]]]:
    """One notation string -> Matcher patterns ("#num" alternatives split into a LIKE_NUM variant)."""
    tokens = [_token_spec(w) for w in pattern.split()]
    variants: list[list[dict[str, Any]]] = [[]]
    for spec in tokens:
        if spec.pop("_num", False):
            numeric = {"LIKE_NUM": True, **({"OP": spec["OP"]} if "OP" in spec else {})}
            variants = [v + [s] for v in variants for s in (spec, numeric)]
        else:
            variants = [v + [spec] for v in variants]
    return variants


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with a notation string (for errors on load), or None."""
    words = pattern.split()
    if not words:
        return "empty pattern"
    for word in words:
        if word.startswith("_") and word != "_":
            gap = _GAP_RE.fullmatch(word)
            if gap is None:
                return f"bad skip {word!r} (write _{{m,n}}, e.g. _{{0,3}})"
            if int(gap[1]) > int(gap[2]):
                return f"bad skip {word!r} (m > n)"
            continue
        word = word[:-1] if word.endswith("?") and len(word) > 1 else word
        if word.startswith("/"):
            if not word.endswith("/") or len(word) < 3:
                return f"unclosed regex {word!r} (write /re/)"
            try:
                re.compile(word[1:-1])
            except re.error as exc:
                return f"invalid regex {word!r}: {exc}"
            continue
        if word in {"#temp", "_"}:
            continue
        for alternative in word.split("|"):
            if not alternative:
                return f"empty alternative in {word!r}"
            if (alternative.startswith("#") and alternative != "#num") or set(alternative) & set("{}?"):
                return f"unknown marker {alternative!r} in {word!r}"
    return None
