"""Personal and present-tense cues per clause: tells a report ("my son has a fever") from a question. The cue
lexicons are reviewed data (``bot/safety/data/cues.yml``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spacy.matcher import Matcher

from bot.nlp.patterns import compile_pattern, fuzzy_word
from bot.nlp.pipeline import blank_nlp
from bot.safety.lexicon import CueData, load_cues

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span


@dataclass(frozen=True)
class Clause:
    """A clause of a message and what it says about who and when."""

    start_char: int
    end_char: int
    question: bool  # asked as a question
    general: bool  # has words of a general question (cause, risk, signs, side effects, ...)
    person: bool  # names a person (I, my, son, she, ...)
    state: bool  # a person or body part with a present or recent state ("my son has", "pee is")
    time: bool  # a time cue ("since", "today", "after my shot", "right now")
    hypothetical: bool = False  # "if my son gets a fever", "in case", "next month"
    number: bool = False  # a number ("temp 102")
    not_current: bool = False  # historical, someone else's, or not literal ("years ago", "on tiktok", "lol")

    @property
    def happening(self) -> bool:
        """Said to be happening now by this clause itself ("since last night", "my son has ...")."""
        return self.time or (self.state and not self.hypothetical)

    @property
    def not_now(self) -> bool:
        """Not a report of something happening now: historical, someone else's, not literal, or a what-if
        question ("what do we do if he ever has a seizure")."""
        return self.not_current or (self.hypothetical and self.question)

    @property
    def bare(self) -> bool:
        """A bare statement: neither a question, nor general, nor a what-if ("fever 102 on mtx")."""
        return not (self.question or self.general or self.hypothetical)


@dataclass(frozen=True)
class Reading:
    """The clauses of a message, to tell a personal report from a general question."""

    clauses: tuple[Clause, ...]
    framed_general: bool = False  # the writer says it is a general question ("just asking in general")
    reassured: bool = False  # the writer says the person is fine ("feel fine", "otherwise he's totally fine")

    @property
    def person(self) -> bool:
        return any(c.person for c in self.clauses)

    def clause_at(self, char: int) -> Clause:
        for clause in self.clauses:
            if clause.start_char <= char < clause.end_char:
                return clause
        return self.clauses[-1]

    @property
    def cued(self) -> bool:
        """Somewhere the message names a person, a state, a time or a number."""
        return any(c.person or c.state or c.time or c.number for c in self.clauses)

    def happening_at(self, char: int) -> bool:
        """Whether what is said at ``char`` is happening to someone now. A bare statement counts when the
        message has a cue somewhere ("fevr and sore throat, im on the jak pill"), not as a search-style
        phrase on its own ("Rinvoq and pregnancy")."""
        clause = self.clause_at(char)
        return clause.happening or (clause.bare and self.cued)

    @property
    def not_now(self) -> bool:
        """Everything the message says about someone is not happening now (see Clause.not_now)."""
        about_someone = [c for c in self.clauses if c.person or c.state]
        return bool(about_someone) and all(c.not_now for c in about_someone)

    @property
    def happening(self) -> bool:
        """Whether anything in the message is said to be happening now."""
        return any(c.happening or (c.bare and self.cued) for c in self.clauses)


class CueReader:
    """Reads personal and present-tense cues per clause."""

    def __init__(self, data: CueData | None = None) -> None:
        cues = data or load_cues()
        self._need = frozenset(cues.words["need"])
        self._clause_break = frozenset(cues.words["clause_break"])
        self._question_start = frozenset(cues.words["question_start"])
        self._subjectless_state = frozenset(cues.words["subjectless_state"])
        self._generic_before = frozenset(cues.words["generic_before"])
        self._generic_plural = frozenset(cues.words["generic_plural"])
        self._possessive = frozenset(cues.words["possessive"])
        self._nlp = blank_nlp()
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=fuzzy_word)

        def compiled(*texts: str) -> list[list[dict[str, Any]]]:
            return [p for text in texts for p in compile_pattern(text)]

        person, body, state = (cues.alternatives(n) for n in ("person", "body", "state"))
        # "is it ok to take ...": asking for oneself without a pronoun
        self._matcher.add("PERSON", compiled(person, *cues.patterns["permission"]))
        self._matcher.add("STATE", compiled(f"{person}|{body} _{{0,3}} {state}", cues.alternatives("stateful_person")))
        self._matcher.add("TIME", compiled(*cues.patterns["time"]))
        self._matcher.add("GENERAL", compiled(*cues.patterns["general"]))
        self._matcher.add("HYPOTHETICAL", compiled(*cues.patterns["hypothetical"]))
        self._matcher.add("NOT_CURRENT", compiled(*cues.patterns["not_current"]))
        self._matcher.add("FRAMING", compiled(*cues.patterns["general_framing"]))
        self._matcher.add("REASSURED", compiled(*cues.patterns["reassurance"]))

    def read(self, text: str) -> Reading:
        doc = self._nlp.make_doc(text)
        bounds = _clause_bounds(doc, self._clause_break)
        marks: dict[str, set[int]] = {
            "PERSON": set(),
            "STATE": set(),
            "TIME": set(),
            "GENERAL": set(),
            "HYPOTHETICAL": set(),
            "NOT_CURRENT": set(),
            "FRAMING": set(),
            "REASSURED": set(),
        }
        for key_id, start, end in self._matcher(doc):
            label = self._nlp.vocab.strings[key_id]
            if label == "STATE" and end < len(doc) and doc[end].lower_ == "to" and doc[end - 1].lower_ in self._need:
                continue  # "have to", "got to": a need, not a state
            if label == "STATE" and any(t.lower_ in self._clause_break for t in doc[start + 1 : end - 1]):
                continue  # a person in one clause, a verb in the next
            if label in ("PERSON", "STATE") and start > 0 and doc[start - 1].lower_ in self._generic_before:
                continue  # "for a kid with eczema": anyone
            before = doc[start - 1].lower_ if start > 0 else ""
            if label == "PERSON" and doc[start].lower_ in self._generic_plural and before not in self._possessive:
                continue  # "helping itchy kids sleep": children in general
            # a state belongs to the clause of its verb, the other cues to where they start
            marks[label].add(end - 1 if label == "STATE" else start)
        clauses = []
        for start, end in bounds:
            span = doc[start:end]
            idx = set(range(start, end))
            question = _is_question(doc, start, end, self._question_start)
            clauses.append(
                Clause(
                    start_char=span.start_char if start < len(doc) else len(text),
                    end_char=doc[end - 1].idx + len(doc[end - 1]) + 1 if end > start else len(text) + 1,
                    question=question,
                    general=bool(marks["GENERAL"] & idx),
                    person=bool(marks["PERSON"] & idx),
                    state=bool(marks["STATE"] & idx) or _starts_with_state(span, self._subjectless_state),
                    time=bool(marks["TIME"] & idx),
                    hypothetical=bool(marks["HYPOTHETICAL"] & idx),
                    number=any(t.like_num for t in span),
                    not_current=bool(marks["NOT_CURRENT"] & idx),
                )
            )
        if not clauses:
            clauses.append(Clause(0, len(text) + 1, False, False, False, False, False))
        return Reading(tuple(clauses), framed_general=bool(marks["FRAMING"]), reassured=bool(marks["REASSURED"]))


def _starts_with_state(span: Span, subjectless_state: frozenset[str]) -> bool:
    """SMS without a subject: "got a rash after the shot", "been throwing up", "have a fever"."""
    words = [t for t in span if not t.is_punct]
    return bool(words) and words[0].lower_ in subjectless_state


def _clause_bounds(doc: Doc, clause_break: frozenset[str]) -> list[tuple[int, int]]:
    bounds = []
    start = 0
    for token in doc:
        if token.lower_ in clause_break and token.i > start:
            # a question mark belongs to the clause it closes
            end = token.i + 1 if token.text in {"?", "!", "."} else token.i
            bounds.append((start, end))
            start = token.i + 1
    if start < len(doc):
        bounds.append((start, len(doc)))
    return [(s, e) for s, e in bounds if e > s]


def _is_question(doc: Doc, start: int, end: int, question_start: frozenset[str]) -> bool:
    tokens = [t for t in doc[start:end] if not t.is_punct or t.text == "?"]
    if not tokens:
        return False
    if any(t.text == "?" for t in doc[start:end]) or tokens[0].lower_ in question_start:
        return True
    # "my son is on mtx, can it cause..." - a question word right after a short lead-in
    return any(t.lower_ in {"can", "could", "does", "do", "will", "would", "should"} for t in tokens[:2])
