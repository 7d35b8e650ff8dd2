"""bot/retrieval.py with a deterministic hashing encoder (the real model is exercised by the evaluation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.conversation.reading import Embedding, Vectors
from bot.knowledge.loader import KnowledgeBase
from bot.retrieval import EmbeddingCache, Retriever
from tests.fakes import HashingEncoder


@pytest.fixture(scope="module")
def retriever(kb: KnowledgeBase) -> Retriever:
    found = Retriever(kb, HashingEncoder())
    found.warm_up()
    return found


def test_a_facts_own_text_finds_that_fact_first(kb: KnowledgeBase, retriever: Retriever) -> None:
    for ref in kb.facts()[::7]:
        [hit] = retriever.search(ref.fact.text, top_k=1)
        assert hit.ref.key == ref.key and hit.score == pytest.approx(1.0, abs=1e-5)


def test_hits_are_one_per_fact_best_first_and_within_the_medicines_asked(retriever: Retriever) -> None:
    hits = retriever.search("how is it given, a shot or a pill", top_k=10)
    assert len(hits) == 10 and len({h.ref.key for h in hits}) == 10
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    within = retriever.search("how is it given, a shot or a pill", drugs=["dupilumab", "methotrexate"], top_k=50)
    assert within and {h.ref.drug.id for h in within} <= {"dupilumab", "methotrexate"}


def test_the_turns_vectors_encode_a_question_once(kb: KnowledgeBase) -> None:
    encoder = HashingEncoder()
    retriever = Retriever(kb, encoder)
    retriever.warm_up()
    encoder.texts.clear()
    vectors = Vectors()
    first = retriever.search("does it need blood tests", vectors=vectors)
    again = retriever.search("does it need blood tests", drugs=["methotrexate"], vectors=vectors)
    assert encoder.texts == ["does it need blood tests"]
    assert first and again and again[0].ref.drug.id == "methotrexate"
    assert [h.score for h in retriever.search("does it need blood tests")] == [h.score for h in first]


def test_a_vector_from_the_same_encoder_export_is_used_without_encoding(kb: KnowledgeBase) -> None:
    encoder = HashingEncoder(version="v1")
    retriever = Retriever(kb, encoder)
    retriever.warm_up()
    text = "what are the side effects of medicine"
    given = Embedding("v1", text, HashingEncoder().encode([text])[0])
    encoder.texts.clear()
    hits = retriever.search(text, vectors=Vectors(given))
    assert encoder.texts == []
    assert [h.ref.key for h in hits] == [h.ref.key for h in retriever.search(text)]


def test_the_disk_cache_embeds_only_new_texts(tmp_path: Path) -> None:
    path = tmp_path / "cache.npz"
    encoder = HashingEncoder()
    first = EmbeddingCache(path).embed(encoder, ["one fact", "another fact"])
    assert encoder.texts == ["another fact", "one fact"]
    encoder.texts.clear()
    second = EmbeddingCache(path).embed(encoder, ["one fact", "a changed fact"])
    assert encoder.texts == ["a changed fact"]
    np.testing.assert_array_equal(first[0], second[0])


def test_a_broken_cache_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.npz"
    path.write_bytes(b"not a zip file")
    encoder = HashingEncoder()
    vectors = EmbeddingCache(path).embed(encoder, ["a fact"])
    assert vectors.shape == (1, encoder.dims) and encoder.texts == ["a fact"]
    assert EmbeddingCache(path).embed(encoder, ["a fact"]).shape == (1, encoder.dims)
