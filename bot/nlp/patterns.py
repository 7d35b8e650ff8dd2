"""The pattern notation of the red-flag and cue tables, compiled to spaCy Matcher patterns.

Notation: tokens separated by spaces; "a|b" alternatives (compared with ``fuzzy_word``: exact, or one typo in
words of 7+ letters); a trailing "?" makes a token optional; "_{m,n}" skips m to n tokens; "/re/" is a regex on
the lowercase token; "#temp" is a body temperature; "#num" among alternatives also accepts a number.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.matcher.levenshtein import levenshtein

# Words that look like medicine names to an edit-distance comparison but are ordinary English.
NEVER_FUZZY: frozenset[str] = frozenset(
    """
    about above after again alive allergy always angry another around asking because before being below
    better between cream creams doctor during either every fever fewer getting having himself herself
    itching itchy medicine medicines months morning mother never normal nothing other others period
    please pregnant rather really since sister should steroid steroids still taking their there
    these thing things those today tonight under until weeks where which while would wrong years
    injection injections injected injecting infection infections infected swelling swollen
    cycle cycles cyclist
    """.split()
)


def fuzzy_word(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for red-flag words: one typo in words of 7+ letters, two from 11 letters."""
    if input_text == pattern_text:
        return True
    if len(pattern_text) < 7 or len(input_text) < 6 or not input_text.isalpha():
        return False
    if input_text in NEVER_FUZZY or input_text[0] != pattern_text[0]:
        return False
    budget = 1 if len(pattern_text) <= 10 else 2
    return bool(levenshtein(input_text, pattern_text, budget) <= budget)


_TEMP_RE = r"^(9[89]|10[0-7]|3[89]|40|41)([.,]\d+)?(f|c|°f|°c|°)?$"


def _token_spec(word: str) -> dict[str, Any]:
    gap = re.fullmatch(r"_\{(\d+),(\d+)\}", word)
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
