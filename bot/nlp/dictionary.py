"""Medicine names the knowledge base lacks, from a real drug dictionary: the offline ``drug-named-entity-recognition``
package (DrugBank, MeSH and Wikipedia names and brands, each resolved to one generic name: Medrol ->
methylprednisolone). Loaded on first use (about 4 s, once per process), never at import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The dictionary also holds short lab acronyms ("caps", "alli", "dona"): shorter names are never taken from it.
MIN_LENGTH = 5


@dataclass(frozen=True)
class DrugMatch:
    """A dictionary name found at tokens ``start:end``; ``generic`` is its lowercase generic name."""

    generic: str
    start: int
    end: int


class DrugDictionary:
    """Looks up tokens (already split from punctuation) in the drug dictionary. ``stop`` names are never a drug,
    nor is a name whose generic name has one of ``stop_generic_words``."""

    def __init__(self, stop: frozenset[str] = frozenset(), stop_generic_words: frozenset[str] = frozenset()) -> None:
        self._stop = stop
        self._stop_generic = stop_generic_words
        self._find: Any = None

    def warm_up(self) -> None:
        if self._find is None:
            # the package reads its bundled dictionary when imported
            from drug_named_entity_recognition import drugs_finder

            self._find = drugs_finder.find_drugs

    def generic(self, name: str) -> str | None:
        """The generic name of one whole medicine name (one or two words), if the dictionary has it."""
        words = name.split()
        matches = self.find(words)
        return matches[0].generic if len(matches) == 1 and matches[0].end - matches[0].start == len(words) else None

    def find(self, tokens: Sequence[str]) -> list[DrugMatch]:
        """Names of one or two tokens, exactly as the dictionary spells them (its own lookup of misspellings
        takes tens of milliseconds a word, too slow for every message)."""
        self.warm_up()
        lowered = [t.lower() for t in tokens]
        found = [
            DrugMatch(str(data.get("name") or data["matching_string"]).lower(), start, end)
            for data, start, end in self._find(lowered)
            if self._usable(lowered[start:end], str(data.get("name") or ""))
        ]
        return sorted(found, key=lambda m: m.start)

    def _usable(self, words: Sequence[str], generic: str) -> bool:
        name = " ".join(words)
        if len(name) < MIN_LENGTH or name in self._stop or not any(c.isalpha() for c in name):
            return False
        return not self._stop_generic.intersection(generic.lower().replace(",", " ").split())
