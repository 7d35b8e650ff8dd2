"""Personal and present-tense cues per clause: tells a report ("my son has a fever") from a question."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spacy.matcher import Matcher

from bot.nlp.patterns import compile_pattern, fuzzy_word
from bot.nlp.pipeline import blank_nlp

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

_PERSON = (
    "i|im|i'm|ive|i've|id|i'd|my|me|mine|myself|we|our|us|ours|he|she|his|her|him|hes|shes|son|daughter|"
    "kid|kids|baby|child|toddler|boy|girl|teen|teenager|husband|wife|partner|mom|dad|mum|ds|dd|lo|"
    "grandson|granddaughter|niece|nephew|brother|sister|infant"
)
_BODY = (
    "eyes|eye|skin|lips|lip|tongue|throat|face|pee|urine|poop|stool|gums|nose|"
    "chest|ankles|legs|feet|hands|rash|eczema|arm|arms|belly|stomach|tummy|head|mouth|breathing|heart|"
    "sores|sore|patches|patch|spots|spot|site|cuts|scratches|wounds|bumps|blisters|hair|neck"
)
_STATE = (
    "is|are|am|m|'m|was|were|'s|s|has|have|had|'ve|ve|got|been|keeps|kept|started|starting|feel|feels|"
    "feeling|felt|look|looks|looking|turned|turning|took|taken|swallowed|ate|drank|forgot|missed|skipped|"
    "having|running|woke|noticed|developed|broke|broken|keep|became|seems|seem|can't|cant|cnt|ca|cannot|"
    "wo|wont|won't|getting|gets|went|threw|vomited|fainted|passed|bled|bleeding|hurts|hurt|hurting"
)
_NEED = {"have", "has", "had", "'ve", "ve", "got", "gotta", "need", "needs"}
_PERMISSION = [
    "is|was it|that ok|okay|safe|fine|alright to|if",
    "it|that 's|s|is ok|okay|safe|fine|alright to|if",
    "its|thats ok|okay|safe|fine|alright to|if",
]
# Person words that carry their own verb ("im", "hes").
_STATEFUL_PERSON = "im|i'm|ive|i've|hes|he's|shes|she's|theyre|they're|were|we're|weve|we've"
_TIME = [
    "since|currently|rn|tonight|yesterday|today|todays|2day|tdy|ytd|lately|recently|suddenly",
    "right now",
    "now",
    "this|last morning|afternoon|evening|night|week|weekend|month|am|pm",
    "all day|night|morning|week",
    "for|past|few|couple|last #num|a|few|couple|several|two|three days|day|hours|hour|weeks|week|nights|night|"
    "mins|minutes|months|month",
    "right|just after|since|when",
    "#num days|day|hours|hrs|hr|weeks|wks|nights ago",
    "after|since my|his|her|their|our|last|today|this|shot|injection|jab|injecting|taking|starting|started",
    "just|suddenly now|started|began|noticed|took|gave|had|got|found",
    "keeps|keep|wo|wont|won't|not|isnt|isn't|doesnt|doesn't stopping|stop|going|go",
]
_QUESTION_START = {
    "can",
    "could",
    "does",
    "do",
    "did",
    "is",
    "are",
    "will",
    "would",
    "should",
    "what",
    "whats",
    "what's",
    "which",
    "how",
    "why",
    "when",
    "who",
    "where",
    "any",
    "tell",
    "explain",
    "list",
    "info",
    "information",
    "define",
    "may",
    "might",
    "must",
    "shall",
}
_GENERAL = [
    "cause|causes|caused|causing|risk|risks|risky|chance|chances|likely|likelihood|common|commonly|rare|"
    "rarely|normal|possible|usually|typical|typically|often|prone|increase|increases|raise|raises|associated|"
    "linked|known|prevent|avoid|lead|leads|happen|happens|signs|symptoms|watch|lookout|warning|dangerous|"
    "safe|frequent|frequency|percent|percentage|anyone|people|patients|someone|person|kids|children|"
    "make|makes",
    "side effect|effects",
    "worried|worry|worrying|scared|afraid|concerned|nervous|wondering",
    "in general",
    "look out",
    "you|your",
]


# What-ifs and plans: not happening now ("if my son gets a fever", "she starts methotrexate next month").
_HYPOTHETICAL = [
    "if|incase|whenever|suppose|supposing|hypothetically|tomorrow|soon|planning|plan|eventually|future|"
    "thinking|considering|deciding|debating",
    "in case",
    "what would",
    "next week|month|year|time|visit|appointment",
    "going|about|gonna|planning to? start|begin|try|switch",
    "will|would|might be? starting|start|begin|beginning",
]


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

    @property
    def happening(self) -> bool:
        """Said to be happening now by this clause itself ("since last night", "my son has ...")."""
        return self.time or (self.state and not self.hypothetical)

    @property
    def bare(self) -> bool:
        """A bare statement: neither a question, nor general, nor a what-if ("fever 102 on mtx")."""
        return not (self.question or self.general or self.hypothetical)


@dataclass(frozen=True)
class Reading:
    """The clauses of a message, to tell a personal report from a general question."""

    clauses: tuple[Clause, ...]

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
    def happening(self) -> bool:
        """Whether anything in the message is said to be happening now."""
        return any(c.happening or (c.bare and self.cued) for c in self.clauses)


_CLAUSE_BREAK = {".", "!", "?", ";", ",", "and", "but", "so", "because", "cuz", "bc", "then", "also", ":", "-"}


class CueReader:
    """Reads personal and present-tense cues per clause."""

    def __init__(self) -> None:
        self._nlp = blank_nlp()
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=fuzzy_word)
        # "is it ok to take ...": asking for oneself without a pronoun
        self._matcher.add("PERSON", [*compile_pattern(_PERSON), *(p for t in _PERMISSION for p in compile_pattern(t))])
        self._matcher.add(
            "STATE",
            [*compile_pattern(f"{_PERSON}|{_BODY} _{{0,3}} {_STATE}"), *compile_pattern(_STATEFUL_PERSON)],
        )
        self._matcher.add("TIME", [p for t in _TIME for p in compile_pattern(t)])
        self._matcher.add("GENERAL", [p for t in _GENERAL for p in compile_pattern(t)])
        self._matcher.add("HYPOTHETICAL", [p for t in _HYPOTHETICAL for p in compile_pattern(t)])

    def read(self, text: str) -> Reading:
        doc = self._nlp.make_doc(text)
        bounds = _clause_bounds(doc)
        marks: dict[str, set[int]] = {
            "PERSON": set(),
            "STATE": set(),
            "TIME": set(),
            "GENERAL": set(),
            "HYPOTHETICAL": set(),
        }
        for key_id, start, end in self._matcher(doc):
            label = self._nlp.vocab.strings[key_id]
            if label == "STATE" and end < len(doc) and doc[end].lower_ == "to" and doc[end - 1].lower_ in _NEED:
                continue  # "have to", "got to": a need, not a state
            if label == "STATE" and any(t.lower_ in _CLAUSE_BREAK for t in doc[start + 1 : end - 1]):
                continue  # a person in one clause, a verb in the next
            # a state belongs to the clause of its verb, the other cues to where they start
            marks[label].add(end - 1 if label == "STATE" else start)
        clauses = []
        for start, end in bounds:
            span = doc[start:end]
            idx = set(range(start, end))
            question = _is_question(doc, start, end)
            clauses.append(
                Clause(
                    start_char=span.start_char if start < len(doc) else len(text),
                    end_char=doc[end - 1].idx + len(doc[end - 1]) + 1 if end > start else len(text) + 1,
                    question=question,
                    general=bool(marks["GENERAL"] & idx),
                    person=bool(marks["PERSON"] & idx),
                    state=bool(marks["STATE"] & idx) or _starts_with_state(span),
                    time=bool(marks["TIME"] & idx),
                    hypothetical=bool(marks["HYPOTHETICAL"] & idx),
                    number=any(t.like_num for t in span),
                )
            )
        if not clauses:
            clauses.append(Clause(0, len(text) + 1, False, False, False, False, False))
        return Reading(tuple(clauses))


# SMS without a subject: "got a rash after the shot", "been throwing up", "have a fever".
_SUBJECTLESS_STATE = {
    "got", "have", "had", "has", "been", "having", "getting", "feeling", "feel", "felt", "woke", "started",
    "just", "keep", "keeps", "still",
}  # fmt: skip


def _starts_with_state(span: Span) -> bool:
    words = [t for t in span if not t.is_punct]
    return bool(words) and words[0].lower_ in _SUBJECTLESS_STATE


def _clause_bounds(doc: Doc) -> list[tuple[int, int]]:
    bounds = []
    start = 0
    for token in doc:
        if token.lower_ in _CLAUSE_BREAK and token.i > start:
            # a question mark belongs to the clause it closes
            end = token.i + 1 if token.text in {"?", "!", "."} else token.i
            bounds.append((start, end))
            start = token.i + 1
    if start < len(doc):
        bounds.append((start, len(doc)))
    return [(s, e) for s, e in bounds if e > s]


def _is_question(doc: Doc, start: int, end: int) -> bool:
    tokens = [t for t in doc[start:end] if not t.is_punct or t.text == "?"]
    if not tokens:
        return False
    if any(t.text == "?" for t in doc[start:end]) or tokens[0].lower_ in _QUESTION_START:
        return True
    # "my son is on mtx, can it cause..." - a question word right after a short lead-in
    return any(t.lower_ in {"can", "could", "does", "do", "will", "would", "should"} for t in tokens[:2])
