"""Which knowledge-base topic a question about one medicine asks: the readers' evidence, weighed.

Four readers each have a view of the asked topic: the Rasa intent classifier's ranking, the aspect model's
probabilities, the topic words of the wording (all of it and its questions alone) and retrieval's closest facts
within the medicine. On the never-tuned sets each model alone picks the asked topic of 71-84% of such questions and
at least one reader is right on 92-95%, so a fixed order of precedence loses cases that a weighing can keep. The
weights are a logistic regression over (question, topic) pairs, fitted by `make topic-reader` on the public dev
sets (bot/quality/topic_fit.py) and kept in topics.yml; the validation and frozen sets are not used to fit them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.conversation.aspects import asked_part
from bot.conversation.understanding import SAFETY_FIRST, TOPIC_INTENTS, topic_alternatives, topics_in_text
from bot.knowledge.schema import DRUG_TOPICS

if TYPE_CHECKING:
    from bot.conversation.aspects import AspectReader
    from bot.conversation.reading import Reading
    from bot.conversation.types import Searcher, Turn

WEIGHTS_FILE = Path(__file__).resolve().parent / "topics.yml"
FEATURES = (
    "aspect_model",  # the aspect model's probability of the topic
    "intent",  # the highest NLU intent confidence among the topic's intents
    "first_word",  # the topic is the first one the wording names
    "any_word",  # the wording names the topic
    "question_word",  # the message's questions name the topic
    "first_question_word",  # the topic is the first one its questions name
    "retrieval",  # retrieval's best score among the medicine's facts on the topic
    "retrieval_best",  # retrieval's best fact is on the topic
)


@dataclass(frozen=True)
class Evidence:
    """What the readers said about one question."""

    aspect_scores: Mapping[str, float]
    intent_scores: Mapping[str, float]  # topic -> confidence
    words: Sequence[str]  # topics the wording names, in order
    question_words: Sequence[str]  # topics the message's questions name, in order
    retrieval: Mapping[str, float]  # topic -> best score within the medicine

    @cached_property
    def retrieval_best(self) -> str | None:
        return max(self.retrieval, key=lambda t: self.retrieval[t]) if self.retrieval else None

    def features(self, topic: str) -> list[float]:
        return [
            float(self.aspect_scores.get(topic, 0.0)),
            float(self.intent_scores.get(topic, 0.0)),
            float(bool(self.words) and self.words[0] == topic),
            float(topic in self.words),
            float(topic in self.question_words),
            float(bool(self.question_words) and self.question_words[0] == topic),
            float(self.retrieval.get(topic, 0.0)),
            float(self.retrieval_best == topic),
        ]


@dataclass(frozen=True)
class TopicWeights:
    weights: tuple[float, ...]
    intercept: float

    def score(self, evidence: Evidence, topic: str) -> float:
        return self.intercept + sum(w * x for w, x in zip(self.weights, evidence.features(topic), strict=True))

    def ranked(self, evidence: Evidence, topics: Sequence[str] = DRUG_TOPICS) -> list[tuple[str, float]]:
        """Topics, most likely first, with their scores (log-odds)."""
        return sorted(((t, self.score(evidence, t)) for t in topics), key=lambda pair: -pair[1])


def intent_scores(ranking: Sequence[tuple[str, float]], topic_intents: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Topic -> the highest confidence among the ranked intents that ask for it."""
    scores: dict[str, float] = {}
    for intent, confidence in ranking:
        topics = topic_intents.get(intent)
        if topics:
            scores[topics[0]] = max(scores.get(topics[0], 0.0), float(confidence))
    return scores


class TopicsFileError(ValueError):
    """topics.yml is invalid; the message says what is wrong."""


def load_weights(path: Path = WEIGHTS_FILE) -> TopicWeights:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    weights = raw.get("weights") or {}
    if set(weights) != set(FEATURES):
        raise TopicsFileError(f"{path.name}: weights must name exactly {', '.join(FEATURES)}")
    try:
        return TopicWeights(tuple(float(weights[f]) for f in FEATURES), float(raw["intercept"]))
    except (KeyError, TypeError, ValueError) as error:
        raise TopicsFileError(f"{path.name}: needs a number for the intercept and for each weight ({error})") from error


@lru_cache(maxsize=1)
def topic_weights() -> TopicWeights:
    return load_weights()


# How many of the medicine's closest facts retrieval reports (every topic of one medicine fits in it).
RETRIEVAL_DEPTH = 30


def gather(
    reading: Reading,
    drug: str,
    ranking: Sequence[tuple[str, float]],
    aspects: AspectReader,
    retriever: Searcher | None,
) -> Evidence:
    """The readers' evidence on a question about one medicine (the same at run time and when fitting)."""
    retrieval: dict[str, float] = {}
    if retriever is not None:
        hits = retriever.search(reading.masked, drugs=[drug], top_k=RETRIEVAL_DEPTH, vectors=reading.vectors)
        for hit in hits:
            topic = hit.ref.fact.topic
            retrieval[topic] = max(retrieval.get(topic, 0.0), hit.score)
    return Evidence(
        aspects.guess(reading).scores,
        intent_scores(ranking, TOPIC_INTENTS),
        reading.topics,
        topics_in_text(asked_part(reading.wording)),
        retrieval,
    )


def weighed_topics(
    turn: Turn,
    reading: Reading,
    drug: str,
    weights: TopicWeights,
    aspects: AspectReader,
    retriever: Searcher | None,
) -> list[tuple[str, ...]]:
    """The topics to answer, each with its alternatives: the one the evidence weighs highest, then the others the
    message's questions name (a boxed warning, pregnancy or interactions first, as everywhere)."""
    ranking = turn.intent_ranking or (((turn.intent, turn.confidence),) if turn.intent else ())
    evidence = gather(reading, drug, ranking, aspects, retriever)
    first = topic_alternatives(weights.ranked(evidence)[0][0])
    wanted = [first, *(alts for alts in map(topic_alternatives, evidence.question_words) if alts != first)]
    return sorted(dict.fromkeys(wanted), key=lambda alts: (alts[0] not in SAFETY_FIRST, alts != first))


# Without the topic reader (tests, or no fitted weights): retrieval must beat the intent's own fact by this much
# to change the topic.
RERANK_MARGIN = 0.1
RERANK_FLOOR = 0.2


def reranked(
    reading: Reading, drug: str, topics: list[tuple[str, ...]], retriever: Searcher | None
) -> list[tuple[str, ...]]:
    """Check the intent's topic against retrieval within the medicine; a clearly better fact wins."""
    if retriever is None:
        return topics
    hits = retriever.search(reading.masked, drugs=[drug], top_k=20, vectors=reading.vectors)
    if not hits:
        return topics
    picked = max((h.score for h in hits if h.ref.fact.topic in topics[0]), default=None)
    if picked is None:
        return topics  # the medicine has no fact on the asked topic: say so rather than answer another
    best = hits[0]
    if best.ref.fact.topic not in topics[0] and best.score >= RERANK_FLOOR and best.score - picked >= RERANK_MARGIN:
        return [(best.ref.fact.topic,)]
    return topics
