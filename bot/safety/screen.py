"""The safety screen: decides, before any answer, whether a message must go to the clinic's staff.

Three signals, combined by the plain rules in ``SafetyScreen.screen``:
  (a) the Rasa intent (trusted when confident),
  (b) red-flag phrases (``bot.safety.red_flags``) that count only when the clause they are in says the
      problem is happening to someone (``bot.safety.cues``), not when it is asked about in general,
  (c) semantic similarity to curated exemplars (``data/exemplars.yml``) when an encoder is given.
The most urgent verdict wins; emergencies carry the hotline the reply must lead with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from bot.constants import EMERGENCY_INTENT_CONFIDENCE, URGENCY_RANK
from bot.constants import SAFETY_INTENT_CONFIDENCE as INTENT_CONFIDENCE
from bot.conversation.reading import Reading as TurnReading
from bot.conversation.reading import mask_names
from bot.conversation.types import Mention
from bot.encoder import Encoder
from bot.knowledge.loader import MedicineSafety, default_knowledge_base
from bot.nlp.names import NameMatcher
from bot.safety.cues import CueReader, Reading
from bot.safety.lexicon import EXEMPLARS_PATH, Category, Urgency, load_categories, load_exemplars
from bot.safety.lexicon import ExemplarError as ExemplarError
from bot.safety.lexicon import Exemplars as Exemplars
from bot.safety.red_flags import RedFlag, RedFlagMatcher

Hotline = Literal["911", "988", "poison_control"]


# Rasa intents (names fixed by the NLU data) -> the category they signal.
INTENT_CATEGORIES: dict[str, str] = {
    "emergency": "emergency_reported",
    "report_symptom": "side_effect_now",
    "dose_change": "dose_change",
    "pregnancy_situation": "pregnancy_other",
    "interaction_personal": "interaction",
    "request_human": "request_human",
}

# Semantic match (bot/safety/data/exemplars.yml, all-MiniLM-L6-v2, medicine names masked): the best exemplar's
# cosine must reach SIMILARITY and beat the closest general question by MARGIN. Calibrated by sweeping
# SIMILARITY 0.50-0.70 and MARGIN 0.00-0.15 over tests/eval/safety.yml (semantic layer alone, after the
# same personal/present gating): MARGIN 0.05 still let "my daughter is on dupixent, how often does she need
# it?" through; 0.55/0.10 is the lowest pair with no false escalation and catches about 70% of the safety
# messages by similarity alone (the patterns catch all of them; similarity is the second net).
# tests/test_safety.py::test_semantic_threshold_report checks this operating point.
# An emergency must lead the closest non-emergency category by EMERGENCY_LEAD ("I missed my dose" sits
# close to "I took my dose every day by mistake"); similarity adds an emergency on top of other signals only
# from STRONG_EMERGENCY, otherwise it is used only when nothing else fired.
SIMILARITY = 0.55
MARGIN = 0.10
EMERGENCY_LEAD = 0.05
STRONG_EMERGENCY = 0.75

# What a category needs from the message before it counts.
#   always:    the words alone (self-harm, asking for a person)
#   reported:  emergencies: anything but a general question with nobody in it
#   happening: said to be happening to someone now (not a general question)
#   personal:  someone asks about their own or their child's treatment
Requirement = Literal["always", "reported", "happening", "personal"]
_ALWAYS = {"emergency_self_harm", "request_human"}
_PERSONAL = {"dose_change", "clinical_decision", "interaction", "other_medicine", "vaccine"}


def requirement(category: str) -> Requirement:
    if category in _ALWAYS:
        return "always"
    if category.startswith("emergency_"):
        return "reported"
    if category in _PERSONAL:
        return "personal"
    return "happening"


# How a medicine the knowledge base lacks reads to the red flags (a word of their {med} macro).
MEDICINE_WORD = "meds"

HOTLINES: dict[str, Hotline] = {"emergency_self_harm": "988", "emergency_overdose": "poison_control"}


@dataclass(frozen=True)
class Verdict:
    """The screen's decision: what kind of problem, how urgent, why (for staff) and which hotline."""

    category: str
    urgency: Urgency
    reason: str
    hotline: Hotline | None = None


class SafetyScreen:
    """Screens every message before any answer. Build once, ``warm_up()`` when the server starts."""

    def __init__(
        self,
        encoder: Encoder | None,
        medicines: MedicineSafety | None = None,
        exemplars_path: Path = EXEMPLARS_PATH,
        *,
        similarity: float = SIMILARITY,
        margin: float = MARGIN,
        names: NameMatcher | None = None,
    ) -> None:
        """``medicines``: which medicines suppress the immune system or are to be avoided in pregnancy or
        while breastfeeding (the knowledge base's ``medicine_safety()``, which is the default).
        ``names`` (the knowledge base's NameMatcher) masks the medicine names of the exemplars, as the turn's
        reading masks the message's, so that similarity follows the problem described rather than the medicine
        named."""
        self._encoder = encoder
        self._names = names
        self._medicines = medicines
        self._exemplars_path = exemplars_path
        self._similarity = similarity
        self._margin = margin
        self._flags: RedFlagMatcher | None = None
        self._cues: CueReader | None = None
        self._categories: dict[str, Category] = {}
        self._labels: list[str] = []
        self._vectors: np.ndarray | None = None
        self._general: np.ndarray | None = None

    def warm_up(self) -> None:
        """Build the matchers and embed the exemplars (once)."""
        if self._flags is None:
            self._categories = load_categories()
            self._flags = RedFlagMatcher(categories=self._categories)
            self._cues = CueReader()
            if self._medicines is None:
                self._medicines = default_knowledge_base().medicine_safety()
            if self._names is None:
                self._names = NameMatcher({"medicine": self._flags.medicine_names})
        if self._encoder is not None and self._vectors is None:
            exemplars = load_exemplars(self._exemplars_path)
            self._labels = [c for c, sentences in exemplars.by_category.items() for _ in sentences]
            texts = [self._mask(s) for sentences in exemplars.by_category.values() for s in sentences]
            self._vectors = self._encoder.encode(texts)
            general = [self._mask(s) for s in exemplars.general]
            self._general = self._encoder.encode(general) if general else None

    def screen(
        self,
        message: TurnReading,
        *,
        intent: str | None,
        confidence: float,
        drugs: Sequence[str],
        context_drug: str | None = None,
    ) -> Verdict | None:
        """The verdict for one message (the turn's reading), or None when it may be answered from the knowledge
        base.

        ``drugs`` are medicine ids named in the message (``unknown:<name>`` for medicines the KB lacks; those the
        reading found count too); ``context_drug`` is the medicine the conversation is about, if any."""
        self.warm_up()
        assert self._flags is not None and self._cues is not None and self._medicines is not None
        text = message.text
        reading = self._cues.read(text)
        flags = _find_flags(self._flags, text, message.unknown)
        known = [d for d in drugs if not d.startswith("unknown:")]
        others = [m.drug_id for m in message.unknown]
        unknown = list(dict.fromkeys([*(d for d in drugs if d.startswith("unknown:")), *others]))
        medicines = set(known) | ({context_drug} if context_drug else set())

        categories = [f.category for f in flags if self._flag_counts(f, reading, bool(medicines))]
        named_at = [m.start_char for m in message.mentions if m.drug_id in known]
        categories += _medicine_categories(
            text, reading, known, unknown, [m.start_char for m in message.unknown], named_at
        )
        # An emergency read only by the intent or by similarity needs the message not to speak against it: the cue
        # reader discounted every emergency sign found ("what are the signs of anaphylaxis"), a pseudo-trigger
        # holds the emergency word ("swallowed his gum", "my heart skipped a beat"), or the writer says all is
        # fine ("otherwise he's totally fine").
        signs = [f for f in flags if f.category.startswith("emergency_")]
        overruled = (
            reading.not_now
            or reading.reassured
            or self._flags.has_pseudo(text)
            or (bool(signs) and not any(c.startswith("emergency_") for c in categories))
        )
        from_patterns = bool(categories)
        # The intent or a strong similarity alone makes an emergency only with a weaker emergency sign in the
        # words (red_flags.yml alarm_signs); without one it is an urgent handoff whose reply says when to call 911.
        alarmed = self._flags.has_alarm(text)
        unconfirmed = "emergency_reported" if alarmed else "possible_emergency"
        if not alarmed and not meets("reported", reading):
            unconfirmed = ""  # a general question that only sounds alarming is answered
        from_intent = _intent_categories(intent, confidence, reading, overruled)
        categories += [c for c in (unconfirmed if c == "emergency_reported" else c for c in from_intent) if c]
        # similarity is a fallback for what the patterns and the intent missed, except a strong emergency where
        # no pattern says what kind of problem it is
        semantic = self.semantic_match(message)
        if semantic is not None and _semantic_counts(semantic[0], reading, [*known, *unknown]):
            category, score = semantic
            strong = category.startswith("emergency_") and score >= STRONG_EMERGENCY
            if strong and not overruled and not from_patterns:
                categories += [category] if alarmed else [unconfirmed] if unconfirmed else []
            elif not categories:
                # an emergency needs an emergency sign: a message that only sounds like one ("swallowed my gum
                # while taking my medicine") goes to staff as its closest other kind, if it is close to one
                closest = category if not category.startswith("emergency_") else self._closest_other(message)
                categories += [closest] if closest else []

        verdicts = [self._verdict(c, medicines, text, self._medicines) for c in dict.fromkeys(categories)]
        if not verdicts:
            return None
        return _most_urgent(verdicts, list(self._categories))

    def semantic_match(self, message: TurnReading) -> tuple[str, float] | None:
        """The exemplar category the text is closest to and its cosine, if close enough and not closer to a
        general question; None without an encoder. An emergency must lead the closest other category by
        EMERGENCY_LEAD, otherwise that other category is taken (routine messages about doses sound alike)."""
        scores = self.similarities(message)
        if scores is None:
            return None
        best, general = scores
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        category, score = ranked[0]
        if category.startswith("emergency_"):
            other = next(((c, s) for c, s in ranked if not c.startswith("emergency_")), None)
            if other is not None and score - other[1] < EMERGENCY_LEAD:
                category, score = other
        if score >= self._similarity and score - general >= self._margin:
            return category, score
        return None

    def _closest_other(self, message: TurnReading) -> str | None:
        scores = self.similarities(message)
        if scores is None:
            return None
        best, general = scores
        others = [(s, c) for c, s in best.items() if not c.startswith("emergency_")]
        score, category = max(others, default=(-1.0, ""))
        return category if score >= self._similarity and score - general >= self._margin else None

    def similarities(self, message: TurnReading) -> tuple[dict[str, float], float] | None:
        """Best cosine per category and against general questions (for calibration and reports)."""
        self.warm_up()
        if self._encoder is None or self._vectors is None:
            return None
        query = message.vectors.get(self._encoder, message.masked)
        sims = self._vectors @ query
        best: dict[str, float] = {}
        for label, sim in zip(self._labels, sims.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), float(sim))
        general = float(np.max(self._general @ query)) if self._general is not None else -1.0
        return best, general

    def _mask(self, text: str) -> str:
        """An exemplar with medicine names replaced by the word "medicine"."""
        return mask_names(text, self._names.find(text)) if self._names is not None else text

    def _flag_counts(self, flag: RedFlag, reading: Reading, has_medicine: bool) -> bool:
        assert self._flags is not None
        if self._flags.needs_medicine(flag.category) and not has_medicine:
            return False
        need = requirement(flag.category)
        if need == "always":
            return True
        if need == "personal":
            return reading.person and not reading.framed_general
        clause = reading.clause_at(flag.span[0])
        if need != "reported" and clause.not_current and not clause.state:
            return False  # "it cleared her rash in 1987": another time, or someone else's
        asked_in_general = reading.framed_general and (not clause.happening or (clause.question and not clause.time))
        if need != "reported" and asked_in_general:
            return False  # "asking in general for a handout: can a mother breastfeed while she takes cyclosporine?"
        bare_topic = clause.bare and not clause.happening and not reading.person
        if need != "reported" and bare_topic and _asks_generally(reading):
            return False  # "cyclosporine and infections, is there a higher risk?"
        if need == "reported" and clause.not_now:
            # ConText's modifiers: "she fainted at a blood draw last year", "saw on tiktok a girl passed out",
            # "what do I do if he ever has a seizure", "my heart stopped at the price lol" are not emergencies
            return False
        if flag.kind == "plan":
            return reading.person  # "we're trying for a baby" is personal, though not happening yet
        if flag.kind == "dose":
            # an extra or wrong dose must be said to have happened: "can I take an extra dose?" is a question
            return clause.happening or clause.bare
        if need == "reported" and clause.question and clause.general and not clause.happening:
            return False  # "what are the signs of anaphylaxis I should watch for after his shot"
        if need == "reported" or flag.urgency == "urgent":
            # a danger sign in a bare phrase counts ("throat closing up", "fevers and night sweats on
            # cyclosporin"); a routine topic needs a cue ("Rinvoq and pregnancy" is a search)
            return clause.happening or clause.bare or (need == "reported" and reading.person)
        return reading.happening_at(flag.span[0])

    def _verdict(self, category: str, medicines: set[str], text: str, safety: MedicineSafety) -> Verdict:
        if category == "infection_fever":
            if medicines & safety.immune_suppressing:
                return Verdict(category, "urgent", "fever or infection on an immune-suppressing medicine")
            if medicines:
                return Verdict(
                    category, "routine", "fever or infection (the medicine does not suppress the immune system)"
                )
            return Verdict(category, "urgent", "fever or infection (medicine not named)")
        if category in {"pregnancy_other", "pregnancy_on_teratogen"}:
            lowered = text.lower()
            breastfeeding = any(w in lowered for w in ("breast", "nursing", "pumping", "chestfeed", "bfing"))
            if medicines & safety.not_in_pregnancy:
                return Verdict("pregnancy_on_teratogen", "urgent", "pregnancy on methotrexate or mycophenolate")
            if breastfeeding and medicines & safety.not_while_breastfeeding:
                return Verdict(
                    "pregnancy_on_teratogen", "urgent", "breastfeeding on a medicine not used while breastfeeding"
                )
            return Verdict("pregnancy_other", "routine", self._categories["pregnancy_other"].reason)
        base = self._categories[category]
        hotline: Hotline | None = None
        if base.urgency == "emergency":
            hotline = HOTLINES.get(category, "911")
        return Verdict(category, base.urgency, base.reason, hotline)


def _find_flags(matcher: RedFlagMatcher, text: str, unknown: Sequence[Mention]) -> list[RedFlag]:
    """Red flags of the text, and of the text with each medicine the knowledge base lacks read as the word "meds"
    ("a bunch of my benadryl" is "a bunch of my meds"); spans are those of the original text."""
    if not unknown:
        return matcher.find(text)
    masked = text
    for mention in reversed(unknown):
        masked = f"{masked[: mention.start_char]}{MEDICINE_WORD}{masked[mention.end_char :]}"
    shifts = []  # (a position of the masked text past a replaced name, how far the original is ahead there)
    moved = 0
    for mention in unknown:
        masked_end = mention.start_char - moved + len(MEDICINE_WORD)
        moved += (mention.end_char - mention.start_char) - len(MEDICINE_WORD)
        shifts.append((masked_end, moved))

    def original(at: int) -> int:
        return at + max((shift for end, shift in shifts if at >= end), default=0)

    moved_back = [replace(f, span=(original(f.span[0]), original(f.span[1]))) for f in matcher.find(masked)]
    found = matcher.find(text) + moved_back
    return sorted(set(found), key=lambda f: (f.span[0], f.category, f.kind))


def _asks_generally(reading: Reading) -> bool:
    return any(c.question and c.general for c in reading.clauses)


def meets(need: Requirement, reading: Reading) -> bool:
    """The requirement judged on the whole message (for signals without a span)."""
    if need == "always":
        return True
    happening = reading.happening
    if need == "reported":
        return happening or reading.person or any(c.bare for c in reading.clauses)
    if need == "personal":
        return reading.person and not reading.framed_general
    return happening


_TOGETHER = {"with", "and", "together", "while", "whilst", "combine", "mix", "plus", "same", "on", "&", "w", "+"}


_HOW_TO = {"how", "what", "whats", "what's", "which", "where", "when", "why"}


def _medicine_categories(
    text: str,
    reading: Reading,
    known: Sequence[str],
    unknown: Sequence[str],
    unknown_at: Sequence[int] = (),
    known_at: Sequence[int] = (),
) -> list[str]:
    """Someone asking about their own medicines: another medicine with this one, or another medicine (but
    not how-to questions about it: "how often should I use hydrocortisone cream" or "my husband has arthritis,
    what does humira do" get the no-information answer). ``unknown_at``, ``known_at``: where the unknown and the
    covered medicines are named; two covered medicines together are personal only when a clause naming one of
    them names a person ("is Rinvoq a shot like Dupixent? my neighbour says so" is not)."""
    if not reading.person or reading.framed_general:
        return []
    personal_known = not known_at or any(reading.clause_at(at).person for at in known_at)
    clauses = [reading.clause_at(at) for at in unknown_at]
    asked_how = [c for c in clauses if c.question and set(text[c.start_char :].lower().split()[:1]) & _HOW_TO]
    unknown_asked = bool(unknown) and (not clauses or len(asked_how) < len(clauses))
    if known and unknown:
        return ["interaction"]
    words = text.lower().replace("/", " ").split()
    if len(set(known)) >= 2 and _taken_together(text, known_at) and personal_known:
        return ["interaction"]
    if unknown_asked and words and words[0] not in _HOW_TO:
        return ["other_medicine"]
    return []


def _taken_together(text: str, known_at: Sequence[int]) -> bool:
    """Two medicines said together: "both" or "together" anywhere, or a together-word between the first and the
    last named ("dupixent and rinvoq"), not one elsewhere ("my sister is a nurse and says adbry differs from
    dupixent")."""
    words = text.lower().replace("/", " ").split()
    if {"both", "together", "combine", "mix"} & set(words):
        return True
    between = text[min(known_at) : max(known_at)] if len(known_at) >= 2 else text
    return bool(set(between.lower().replace("/", " ").split()) & _TOGETHER)


# Similarity alone is weaker evidence than a pattern: these categories also need a medicine named, and
# asking for a person needs someone in the message ("are you a real person?" is not a request).
_SEMANTIC_NEEDS_MEDICINE = {"interaction", "other_medicine"}


def _semantic_counts(category: str, reading: Reading, drugs: Sequence[str]) -> bool:
    if category in _SEMANTIC_NEEDS_MEDICINE and not drugs:
        return False
    if category == "request_human":
        return meets("happening", reading)
    return meets(requirement(category), reading)


def _intent_categories(intent: str | None, confidence: float, reading: Reading, overruled: bool = False) -> list[str]:
    category = INTENT_CATEGORIES.get(intent or "")
    if category is None:
        return []
    if category == "emergency_reported":
        # the intent is a sign of its own, unless the message speaks against it (see SafetyScreen.screen)
        return [category] if confidence >= EMERGENCY_INTENT_CONFIDENCE and not overruled else []
    if confidence < INTENT_CONFIDENCE or (requirement(category) == "personal" and reading.framed_general):
        return []
    # a confident intent still does not escalate a general question that names nobody
    if category != "request_human" and not reading.person and not reading.happening:
        return []
    return [category]


def _most_urgent(verdicts: list[Verdict], order: list[str]) -> Verdict:
    """The most urgent verdict; between equals, the category listed first in categories.yml."""
    categories = {v.category for v in verdicts}
    if {"emergency_self_harm", "emergency_overdose"} <= categories:
        return Verdict("emergency_self_harm", "emergency", "overdose with thoughts of self-harm", "911")
    emergency_named = [v for v in verdicts if v.urgency == "emergency" and v.category != "emergency_reported"]
    if emergency_named:
        # the intent said emergency but a pattern says which kind, and so which hotline
        verdicts = [v for v in verdicts if v.category != "emergency_reported"]
    rank = {category: i for i, category in enumerate(order)}
    return min(verdicts, key=lambda v: (-URGENCY_RANK[v.urgency], rank.get(v.category, len(rank))))
