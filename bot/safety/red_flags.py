"""Red-flag phrases: words that signal a possible safety problem, per category. The phrases are reviewed data
(``bot/safety/data/red_flags.yml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spacy.matcher import Matcher

from bot.nlp.patterns import compile_pattern, fuzzy_word
from bot.nlp.pipeline import blank_nlp
from bot.safety.lexicon import Category, RedFlagData, Urgency, load_categories, load_red_flags

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

_SENTENCE_END = frozenset({".", "?", "!", ";"})
_CLAUSE_END = _SENTENCE_END | {",", "and", "but", "so", "then"}
_NEGATION_WINDOW = 3  # words before a sign that a negation reaches (NegEx uses about five; clauses here are short)
# red_flags.yml: signs of the eczema itself, and the phrase (not a flag) that says a medicine is taken
_DISEASE_SIGN = "side_effect_now:disease"
_TAKEN = "side_effect_now:taken"


@dataclass(frozen=True)
class RedFlag:
    """A phrase that signals a possible safety problem. ``span`` is (start_char, end_char); ``kind`` names
    the pattern group when a category has several ("dose" for an extra or wrong dose)."""

    category: str
    urgency: Urgency
    reason: str
    span: tuple[int, int]
    kind: str = ""


class RedFlagMatcher:
    """Finds red-flag phrases; one flag per category and phrase, ordered by position."""

    def __init__(self, data: RedFlagData | None = None, categories: dict[str, Category] | None = None) -> None:
        self._data = data or load_red_flags()
        self._categories = categories or load_categories()
        self._nlp = blank_nlp()
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=fuzzy_word)
        for category, patterns in self._data.patterns.items():
            self._matcher.add(category, [p for text in patterns for p in compile_pattern(text)], greedy="LONGEST")

    def find(self, text: str) -> list[RedFlag]:
        doc = self._nlp.make_doc(text)
        found: dict[tuple[str, int, int], None] = {}
        for key_id, start, end in self._matcher(doc):
            key = self._nlp.vocab.strings[key_id]
            if key == "infection_fever" and not self._is_real_infection(doc, start, end):
                continue
            if key.startswith("emergency_overdose") and self._time_not_amount(doc, end):
                continue  # "took my rinvoq 2 hours late"
            if key == "emergency_overdose:dose" and self._timing_not_amount(doc, start, end):
                key = "dose_change"  # "took my methotrexate on tuesday instead of monday"
            elif key == "emergency_overdose:dose" and self._one_extra_dose(doc, start, end):
                key = "extra_dose:dose"  # "took my olumiant twice today by accident"
            if key != "emergency_self_harm" and self._negated(doc, start, end):
                continue  # "no trouble breathing", "breathing is fine"; self-harm wording is never discounted
            if key == "dose_change" and start > 0 and doc[start - 1].lower_ in self._words["not_a_change_before"]:
                continue  # "after stopping cyclosporine" is about what happens, not a request to change
            found[(key, start, end)] = None
        # a sign of the eczema itself is a side effect only where a medicine is said to be taken
        taken = any(k == _TAKEN for k, _, _ in found)
        found = {f: None for f in found if f[0] != _TAKEN and (f[0] != _DISEASE_SIGN or taken)}
        spans = [(k, doc[s:e].start_char, doc[s:e].end_char) for k, s, e in found]
        lowered = text.lower()
        pseudo = [m.span() for m in self._data.regexes["pseudo"].finditer(lowered)]
        spans = [sp for sp in spans if not any(sp[1] < e and s < sp[2] for s, e in pseudo)]
        spans += self._derived(spans, lowered)
        flags = []
        for key, s, e in spans:
            category, _, kind = key.partition(":")
            base = self._categories[category]
            flags.append(RedFlag(category, base.urgency, base.reason, (s, e), kind))
        return sorted(set(flags), key=lambda f: (f.span[0], f.category, f.kind))

    def has_alarm(self, text: str) -> bool:
        """Whether the text names a weaker emergency sign (the body or the amount in trouble: red_flags.yml)."""
        return bool(self._data.regexes["alarm_signs"].search(text.lower()))

    def has_pseudo(self, text: str) -> bool:
        """Whether the text holds a pseudo-trigger ("swallowed his gum", "my heart skipped a beat")."""
        return bool(self._data.regexes["pseudo"].search(text.lower()))

    def needs_medicine(self, category: str) -> bool:
        """Categories whose words only count when a medicine is also named."""
        return category in self._words["needs_medicine"]

    @property
    def medicine_names(self) -> tuple[str, ...]:
        """The clinic's systemic medicines as the patterns know them (for use without the knowledge base)."""
        return self._data.medicine_names

    @property
    def _words(self) -> dict[str, frozenset[str]]:
        return self._data.word_sets

    def _is_real_infection(self, doc: Doc, start: int, end: int) -> bool:
        before = doc[start - 1].lower_ if start > 0 else ""
        after = doc[end].lower_ if end < len(doc) else ""
        return before not in self._words["not_infection_before"] and after not in self._words["not_infection_after"]

    def _time_not_amount(self, doc: Doc, end: int) -> bool:
        return doc[end - 1].like_num and end < len(doc) and doc[end].lower_ in self._words["not_an_amount_after"]

    def _timing_not_amount(self, doc: Doc, start: int, end: int) -> bool:
        """A wrong-dose phrase whose sentence speaks of when (a weekday, late, apart) and of no amount."""
        return self._sentence_says(doc, start, end, self._words["dose_timing"], self._words["dose_amount"], 1)

    def _one_extra_dose(self, doc: Doc, start: int, end: int) -> bool:
        """A wrong-dose phrase whose sentence speaks of a second dose and of nothing larger."""
        return self._sentence_says(doc, start, end, self._words["second_dose"], self._words["large_amount"], 3)

    def _sentence_says(
        self, doc: Doc, start: int, end: int, cue: frozenset[str], against: frozenset[str], least: int
    ) -> bool:
        """Whether the phrase's sentence has a `cue` word and neither an `against` word nor an amount of at least
        `least` (a number not followed by a time word: "2 hours late" is no amount)."""
        left, right = start, end
        while left > 0 and doc[left - 1].text not in _SENTENCE_END:
            left -= 1
        while right < len(doc) and doc[right].text not in _SENTENCE_END:
            right += 1
        words = doc[left:right]
        if not any(t.lower_ in cue for t in words):
            return False
        return not any(t.lower_ in against or self._amount(doc, t, least) for t in words)

    def _amount(self, doc: Doc, token: Token, least: int) -> bool:
        follower = doc[token.i + 1].lower_ if token.i + 1 < len(doc) else ""
        if not token.like_num or follower in self._words["not_an_amount_after"]:
            return False
        return least <= 1 or (token.text.isdigit() and int(token.text) >= least)

    def _negated(self, doc: Doc, start: int, end: int) -> bool:
        """ConText's negation: "no" or "hasn't" just before the sign in its clause, or "fine" right after it."""
        for i in range(start - 1, max(start - 1 - _NEGATION_WINDOW, -1), -1):
            word = doc[i].lower_
            if word in _CLAUSE_END:
                break
            if word in self._words["negation_before"]:
                follower = doc[i + 1].lower_ if i + 1 < len(doc) else ""
                if follower not in self._words["negation_pseudo"]:
                    return True
        after = end
        while after < len(doc) and doc[after].lower_ in self._words["copula"]:
            after += 1
        return after < len(doc) and doc[after].lower_ in self._words["negation_after"]

    def _derived(self, spans: list[tuple[str, int, int]], lowered: str) -> list[tuple[str, int, int]]:
        """Flags that depend on two signs in one message: blisters with fever, fever with a danger sign, vomiting that
        won't stop."""
        extra = []
        blisters = [
            s
            for s in spans
            if (s[0] == "severe_rash" and "blist" in lowered[s[1] : s[2]])
            or (s[0] == "side_effect_now" and "sore" in lowered[s[1] : s[2]])
        ]
        fever_words = self._data.regexes["fever_words"]
        fever = [s for s in spans if s[0] == "infection_fever" and fever_words.search(lowered[s[1] : s[2]])]
        if blisters and fever:
            extra.append(("blisters_fever", min(blisters[0][1], fever[0][1]), max(blisters[0][2], fever[0][2])))
        if fever and self._data.regexes["fever_danger"].search(lowered):
            extra.append(("emergency_fever_danger", fever[0][1], fever[0][2]))
        vomit = [
            s
            for s in spans
            if s[0] == "side_effect_now" and re.search(r"vomit|throw|threw|puk|barf", lowered[s[1] : s[2]])
        ]
        if vomit and self._data.regexes["persistent"].search(lowered):
            extra.append(("vomiting", vomit[0][1], vomit[0][2]))
        return extra
