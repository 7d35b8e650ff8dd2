"""Medicine names in free text: the knowledge base's names exactly, then any medicine the drug dictionary knows
(``bot.nlp.dictionary``), then misspelled knowledge-base names (a length-scaled edit budget)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spacy.matcher import Matcher, PhraseMatcher
from spacy.matcher.levenshtein import levenshtein

from bot.nlp.dictionary import DrugDictionary, DrugMatch
from bot.nlp.lexicon import never_fuzzy, not_medicines, other_medicines
from bot.nlp.pipeline import blank_nlp

if TYPE_CHECKING:
    from spacy.tokens import Doc


@dataclass(frozen=True)
class Mention:
    """A medicine named in a message. ``drug_id`` is ``unknown:<name>`` for medicines the KB lacks."""

    drug_id: str
    surface: str
    start_char: int
    end_char: int
    exact: bool

    @property
    def known(self) -> bool:
        return not self.drug_id.startswith("unknown:")


def _edit_budget(pattern: str) -> int:
    """Edits allowed for a misspelled medicine name: none under 5 letters, more for long names."""
    if len(pattern) < 5:
        return 0
    if len(pattern) <= 6:
        return 1
    if len(pattern) <= 10:
        return 2
    return 3


def _name_fuzzy(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for medicine names: same first letter, a length-scaled edit budget and never on
    short or ordinary words (so "the", "side", "weeks", "pregnant" never become a medicine)."""
    if input_text == pattern_text:
        return True
    if len(input_text) < 5 or not input_text.isalpha() or input_text in never_fuzzy():
        return False
    budget = _edit_budget(pattern_text) if fuzzy < 0 else fuzzy
    if budget == 0 or input_text[0] != pattern_text[0]:
        return False
    return bool(levenshtein(input_text, pattern_text, budget) <= budget)


class NameMatcher:
    """Finds medicine names (exact first, then misspelled) in free text. The drug dictionary is loaded on the
    first ``find`` (or ``warm_up``)."""

    def __init__(
        self,
        names: Mapping[str, Sequence[str]],
        unknown: Sequence[str] | None = None,
        *,
        dictionary: DrugDictionary | None = None,
    ) -> None:
        """``unknown``: medicines the knowledge base does not cover that the drug dictionary lacks (default:
        bot/nlp/data/other_medicines.yml). ``dictionary``: the drug dictionary (default: the package's)."""
        unknown = other_medicines() if unknown is None else unknown
        self._names = names
        stop = not_medicines()
        self._dictionary = dictionary or DrugDictionary(never_fuzzy() | stop.names, stop.generic_words)
        # the dictionary's generic name of each knowledge-base medicine -> its id (Deltasone -> prednisone ->
        # systemic_steroids), filled at warm-up
        self._kb_generics: dict[str, str] | None = None
        self._nlp = blank_nlp()
        self._exact = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._fuzzy = Matcher(self._nlp.vocab, fuzzy_compare=_name_fuzzy)
        # key -> (drug id, the name's lowercase tokens)
        self._entries: dict[str, tuple[str, list[str]]] = {}
        seen: set[str] = set()
        known = [(drug_id, name) for drug_id, ns in names.items() for name in ns]
        unknown_ids = [(f"unknown:{name.lower()}", name) for name in unknown]
        for drug_id, name in [*known, *unknown_ids]:
            lowered = name.strip().lower()
            if not lowered or lowered in seen:
                continue  # a name the KB covers is never "unknown"; first id wins on duplicates
            seen.add(lowered)
            key = f"name{len(self._entries)}"
            tokens = [t.lower_ for t in self._nlp.make_doc(lowered)]
            self._entries[key] = (drug_id, tokens)
            self._exact.add(key, [self._nlp.make_doc(lowered)])
            fuzzy_from = 7 if drug_id.startswith("unknown:") else 5
            if any(len(t) >= fuzzy_from and t.isalpha() for t in tokens):
                pattern: list[dict[str, Any]] = [
                    {"LOWER": {"FUZZY": t}} if len(t) >= fuzzy_from and t.isalpha() else {"LOWER": t} for t in tokens
                ]
                self._fuzzy.add(key, [pattern])

    def warm_up(self) -> None:
        """Load the drug dictionary and resolve the knowledge base's names in it (once)."""
        if self._kb_generics is None:
            self._dictionary.warm_up()
            generics: dict[str, str] = {}
            for drug_id, names in self._names.items():
                for name in names:
                    generic = self._dictionary.generic(name)
                    if generic is not None:
                        generics.setdefault(generic, drug_id)
            self._kb_generics = generics

    def find(self, text: str) -> list[Mention]:
        """Medicine mentions ordered by position; overlapping matches resolve to the knowledge base's exact
        names, then the dictionary's, then longest misspelled."""
        self.warm_up()
        doc = self._nlp.make_doc(text)
        strings = self._nlp.vocab.strings
        exact = [(strings[k], s, e) for k, s, e in self._exact(doc)]
        chosen = _pick_longest(exact)
        taken = {i for _, s, e in chosen for i in range(s, e)}
        looked_up = [m for m in self._dictionary.find([t.text for t in doc]) if not taken & set(range(m.start, m.end))]
        dictionary = [(m, self._dictionary_mention(doc, m)) for m in _pick_longest_drugs(looked_up)]
        # a name the dictionary resolves to a medicine the KB lacks may still be a KB name misspelled or inflected
        # ("cyclosporines" is the dictionary's "cyclosporins"): the fuzzy KB match below may claim it
        taken |= {i for m in looked_up for i in range(m.start, m.end) if self._known_generic(m)}
        fuzzy = []
        for key_id, start, end in self._fuzzy(doc):
            if taken.intersection(range(start, end)):
                continue
            key = strings[key_id]
            fuzzy.append((key, start, end, self._distance(key, doc[start:end].text.lower())))
        fuzzy.sort(key=lambda m: (-(m[2] - m[1]), m[3], m[1]))
        picked_fuzzy = _pick_longest([(k, s, e) for k, s, e, _ in fuzzy], presorted=True)
        claimed = {i for _, s, e in picked_fuzzy for i in range(s, e)}
        mentions = [self._mention(doc, k, s, e, True) for k, s, e in chosen]
        mentions += [mention for m, mention in dictionary if not claimed & set(range(m.start, m.end))]
        mentions += [self._mention(doc, k, s, e, False) for k, s, e in picked_fuzzy]
        mentions.sort(key=lambda m: m.start_char)
        return mentions

    def drug_ids(self, text: str) -> list[str]:
        """The distinct medicine ids named in the text, in order of first mention."""
        return list(dict.fromkeys(m.drug_id for m in self.find(text)))

    def _known_generic(self, match: DrugMatch) -> bool:
        return match.generic in (self._kb_generics or {})

    def _dictionary_mention(self, doc: Doc, match: DrugMatch) -> Mention:
        span = doc[match.start : match.end]
        drug_id = (self._kb_generics or {}).get(match.generic, f"unknown:{match.generic}")
        return Mention(drug_id, span.text, span.start_char, span.end_char, exact=True)

    def _distance(self, key: str, surface: str) -> int:
        return int(levenshtein(surface, " ".join(self._entries[key][1])))

    def _mention(self, doc: Doc, key: str, start: int, end: int, exact: bool) -> Mention:
        span = doc[start:end]
        return Mention(
            drug_id=self._entries[key][0],
            surface=span.text,
            start_char=span.start_char,
            end_char=span.end_char,
            exact=exact,
        )


def _pick_longest(matches: Iterable[tuple[str, int, int]], *, presorted: bool = False) -> list[tuple[str, int, int]]:
    """Non-overlapping matches, longest first (the order given when presorted)."""
    ordered = list(matches) if presorted else sorted(matches, key=lambda m: (m[1] - m[2], m[1]))
    taken: set[int] = set()
    picked = []
    for key, start, end in ordered:
        if taken.intersection(range(start, end)):
            continue
        taken.update(range(start, end))
        picked.append((key, start, end))
    return picked


def _pick_longest_drugs(matches: Sequence[DrugMatch]) -> list[DrugMatch]:
    """Dictionary matches without overlaps, longest first (the dictionary may give one name several generics)."""
    picked = _pick_longest([(str(i), m.start, m.end) for i, m in enumerate(matches)])
    return [matches[int(key)] for key, _, _ in picked]
