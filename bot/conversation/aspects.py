"""Answerability: which aspect of a medicine a question asks about, and whether the handouts cover it.

The asked aspect is read by a logistic regression over the turn's sentence vector of the masked text (the one
retrieval uses, so no extra encode). Its classes are the knowledge base's topics, trained on each fact's
paraphrases, and the aspects the handouts never cover, trained on the example questions in aspects.yml. Named
organs and symptoms (aspects.yml ``terms``) are checked against the facts' own wording.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import yaml

from bot.conversation.reading import mask_names
from bot.conversation.understanding import (
    TOPIC_INTENTS,
    compile_pattern,
    opens_like_a_question,
    sounds_like_comparison,
)
from bot.encoder import Encoder
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import GENERAL, Fact

if TYPE_CHECKING:
    from bot.conversation.reading import Reading
    from bot.conversation.types import Mention, NameFinder

log = logging.getLogger(__name__)

ASPECTS_FILE = Path(__file__).resolve().parent / "aspects.yml"
# The NLU's questions about one medicine: more wordings of each covered topic than the facts' paraphrases.
NLU_FILE = Path(__file__).resolve().parents[2] / "data" / "nlu" / "medicines.yml"
_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]*\)")  # [Dupixent](drug) -> Dupixent


class AspectError(ValueError):
    """aspects.yml is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Aspect:
    id: str
    subject: str  # named without a medicine
    label: str  # named for a medicine: "{medicine}" is filled in
    pattern: re.Pattern[str] | None
    examples: tuple[str, ...]
    partial_of: str | None = None
    covered_when: re.Pattern[str] | None = None

    def named(self, medicine: str | None) -> str:
        return self.label.format(medicine=medicine) if medicine else self.subject


@dataclass(frozen=True)
class Term:
    """A body organ or symptom a question can name; the answer must name it too."""

    id: str
    kind: str  # "organ" or "symptom": the abstain reply's aspect
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class AspectData:
    aspects: dict[str, Aspect]
    terms: dict[str, Term]
    threshold: float


def _pattern(entry: str, value: object) -> re.Pattern[str]:
    return compile_pattern(f"{ASPECTS_FILE.name}: {entry}", value, AspectError)


def load_aspects(path: Path = ASPECTS_FILE) -> AspectData:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    aspects: dict[str, Aspect] = {}
    for key, entry in (raw.get("aspects") or {}).items():
        name = f"aspects: {key}"
        if not entry.get("examples") or "{medicine}" not in str(entry.get("label", "")):
            raise AspectError(f"{path.name}: {name}: needs examples and a label with {{medicine}}")
        aspects[key] = Aspect(
            key,
            str(entry["subject"]),
            str(entry["label"]),
            _pattern(name, entry["pattern"]) if "pattern" in entry else None,
            tuple(str(e) for e in entry["examples"]),
            entry.get("partial_of"),
            _pattern(name, entry["covered_when"]) if "covered_when" in entry else None,
        )
        if (aspects[key].partial_of is None) != (aspects[key].covered_when is None):
            raise AspectError(f"{path.name}: {name}: partial_of and covered_when go together")
    terms = {
        str(key): Term(str(key), str(entry["kind"]), _pattern(f"terms: {key}", entry["pattern"]))
        for key, entry in (raw.get("terms") or {}).items()
    }
    threshold = float(raw["threshold"])
    if not aspects or not 0 < threshold < 1:
        raise AspectError(f"{path.name}: needs aspects and a threshold between 0 and 1")
    return AspectData(aspects, terms, threshold)


@lru_cache(maxsize=1)
def aspect_data() -> AspectData:
    return load_aspects()


_QUESTION = re.compile(r"[^.!?]*\?+")
_SENTENCE = re.compile(r"[^.!?\n]+")


def question_spans(text: str) -> list[tuple[int, int]]:
    """Where the message's questions are: sentences ending in "?", else sentences that open like a question."""
    spans = [m.span() for m in _QUESTION.finditer(text)]
    return spans or [m.span() for m in _SENTENCE.finditer(text) if opens_like_a_question(m.group())]


def asked_part(text: str) -> str:
    """The message's questions, else all of it: an organ or an aspect named in the story around a question ("my mom
    takes pills for her heart. does cyclosporine interact ...") is not asked."""
    spans = question_spans(text)
    return " ".join(text[start:end] for start, end in spans) if spans else text


def in_question(text: str, at: int) -> bool:
    """Whether the character at ``at`` lies in one of the message's questions (anywhere, when it asks none)."""
    spans = question_spans(text)
    return not spans or any(start <= at < end for start, end in spans)


def asked_first(reading: Reading, drugs: Sequence[str]) -> list[str]:
    """The medicines a question names before those only its story names ("we researched dupixent ... how long
    before methotrexate kicks in?"); otherwise in the order given."""
    asked = {m.drug_id for m in reading.mentions if in_question(reading.text, m.start_char)}
    return sorted(drugs, key=lambda d: d not in asked)


def named_aspect(text: str) -> Aspect | None:
    """The first uncovered aspect whose wording the text's questions name outright."""
    asked = asked_part(text)
    return next((a for a in aspect_data().aspects.values() if a.pattern and a.pattern.search(asked)), None)


def names_one_medicine_twice(text: str, mentions: Sequence[Mention]) -> bool:
    """Two names of one medicine compared ("is trexall the same as methotrexate", "neoral vs gengraf"): a question
    about brand names and generics, which the handouts don't cover."""
    surfaces: dict[str, set[str]] = {}
    for mention in mentions:
        surfaces.setdefault(mention.drug_id, set()).add(mention.surface.lower())
    return any(len(names) > 1 for names in surfaces.values()) and sounds_like_comparison(text)


def named_term(text: str) -> Term | None:
    asked = asked_part(text)
    return next((t for t in aspect_data().terms.values() if t.pattern.search(asked)), None)


def facts_naming(kb: KnowledgeBase, drug_id: str, term: Term) -> list[tuple[str, Fact]]:
    """The facts of a medicine (and of its group) whose text names the term, as (owner id, fact)."""
    owners = [kb.drugs[drug_id]]
    group = kb.group_of(drug_id)
    if group is not None:
        owners.append(group)
    return [(d.id, f) for d in owners for f in d.facts if term.pattern.search(f.text)]


@dataclass(frozen=True)
class Guess:
    """The aspect a question most likely asks about, with its probability; ``scores`` has every class."""

    aspect: str
    score: float
    scores: dict[str, float]


class AspectReader(Protocol):
    def guess(self, reading: Reading) -> Guess: ...


def _mask(text: str, names: NameFinder) -> str:
    return mask_names(text, names.find(text))


def nlu_questions(path: Path = NLU_FILE) -> list[tuple[str, str]]:
    """(question, topic) of the NLU examples whose intent asks for one knowledge-base topic."""
    found: list[tuple[str, str]] = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
        topics = TOPIC_INTENTS.get(str(block.get("intent")))
        if topics is None:
            continue
        for line in str(block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                found.append((_ENTITY.sub(r"\1", line.strip()[2:]), topics[0]))
    return found


def training_set(
    kb: KnowledgeBase, names: NameFinder, data: AspectData, nlu: Sequence[tuple[str, str]] = ()
) -> tuple[list[str], list[str]]:
    """(masked question, aspect) pairs: medicine facts' paraphrases and the NLU's questions by topic, uncovered
    aspects' examples."""
    texts = [_mask(text, names) for text, _ in nlu]
    labels = [topic for _, topic in nlu]
    for ref in kb.facts():
        if ref.drug.id == GENERAL:
            continue
        for text in ref.fact.paraphrases:
            texts.append(_mask(text, names))
            labels.append(ref.fact.topic)
    for aspect in data.aspects.values():
        for text in aspect.examples:
            texts.append(_mask(text, names))
            labels.append(aspect.id)
    return texts, labels


class AspectModel:
    """The asked-aspect classifier, trained at warm-up (a few hundred sentences; vectors cached on disk)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        encoder: Encoder,
        names: NameFinder,
        cache_path: Path | None = None,
        data: AspectData | None = None,
    ) -> None:
        self.kb = kb
        self.encoder = encoder
        self.names = names
        self.cache_path = cache_path
        self.data = data or aspect_data()
        self._model: object | None = None
        self._classes: list[str] = []

    def warm_up(self) -> None:
        from sklearn.linear_model import LogisticRegression

        from bot.retrieval import EmbeddingCache

        texts, labels = training_set(self.kb, self.names, self.data, nlu_questions())
        vectors = EmbeddingCache(self.cache_path).embed(self.encoder, texts)
        model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
        model.fit(vectors, labels)
        self._model = model
        self._classes = [str(c) for c in model.classes_]
        log.info("aspect model: %d examples, %d aspects", len(texts), len(self._classes))

    def scores(self, vector: np.ndarray) -> dict[str, float]:
        if self._model is None:
            self.warm_up()
        probabilities = self._model.predict_proba(vector.reshape(1, -1))[0]  # type: ignore[union-attr]
        return dict(zip(self._classes, (float(p) for p in probabilities), strict=True))

    def guess(self, reading: Reading) -> Guess:
        scores = self.scores(reading.vectors.get(self.encoder, reading.masked))
        best = max(scores, key=lambda k: scores[k])
        return Guess(best, scores[best], scores)


def best_covered(scores: dict[str, float], topics: Sequence[str]) -> str | None:
    """The most likely of the given knowledge-base topics."""
    ranked = [t for t in sorted(scores, key=lambda k: -scores[k]) if t in topics]
    return ranked[0] if ranked else None
