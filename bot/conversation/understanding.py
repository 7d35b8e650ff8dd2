"""What a message asks about: intents and wording mapped to knowledge-base topics."""

from __future__ import annotations

import re

# Rasa intent -> the knowledge-base topics it asks for, most specific first.
TOPIC_INTENTS: dict[str, tuple[str, ...]] = {
    "ask_what_is": ("what_is",),
    "ask_mechanism": ("mechanism",),
    "ask_administration": ("administration",),
    "ask_onset": ("onset",),
    "ask_monitoring": ("monitoring",),
    "ask_side_effects": ("side_effects", "safety_warnings"),
    "ask_pregnancy": ("pregnancy",),
    "ask_immune": ("immune", "safety_warnings"),
    "ask_approval": ("approval",),
    "ask_duration": ("duration",),
    "ask_interactions": ("interactions",),
    "ask_recommendation": ("guidelines", "what_is"),
}

# Questions about systemic medicines in general; the topic of the "general" pseudo-medicine is chosen from the
# wording (general_topic_in_text) or by retrieval among the general facts.
GENERAL_INTENT = "ask_general"
DEFAULT_GENERAL_TOPIC = "systemic_overview"

CHITCHAT_INTENTS: dict[str, str] = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thank": "thanks",
    "bot_challenge": "bot_challenge",
    "affirm": "affirm",
    "deny": "affirm",
}

SAFETY_INTENTS = frozenset(
    {"report_symptom", "dose_change", "pregnancy_situation", "interaction_personal", "request_human", "emergency"}
)

# Wording that names a topic, used to find several topics in one message and to check the NLU's pick.
_TOPIC_WORDS: dict[str, str] = {
    "side_effects": r"side[\s-]?effects?|adverse|risks?\b|\bs/?e\b|\bcause[sd]?\b|\b(?:raise|lower|increase)s?\b|"
    r"bone marrow|(?:blood|cell) counts?|white (?:blood )?cells|cholesterol|hair growth|tremors?|nausea",
    "safety_warnings": r"\bwarnings?\b|boxed|black[\s-]?box",
    "monitoring": r"\blabs?\b|blood (?:test|work|draw)s?|lab ?work|monitor\w*|blood pressure|folic|check[\s-]?ups?",
    "administration": r"how (?:is|are)\s+(?:it\s+|they\s+|\w+\s+)?(?:given|taken)|how often|pill or|shot or|inject\w*|"
    r"by mouth|dos(?:e|ing) schedule|\bis (?:it |this )?an? (?:shot|pill|injection)\b",
    "what_is": r"what (?:kind|type|sort) of (?:drug|medicine|med|medication)",
    "onset": r"how (?:fast|quick\w*|soon|long (?:until|till|before|does it take))|start(?:s)? (?:to )?work|kick in|"
    r"how long (?:it|they|does it|do they) takes? to|takes? (?:for it )?to (?:work|help)|"
    r"\b(?:fast|quick|slow)(?:er|est)\b|fast[\s-]acting|works? (?:fast|quickly)",
    "pregnancy": r"pregnan\w*|breast\s?feed\w*|nursing|birth defects?|miscarr\w*",
    "immune": r"immune|infections?",
    "approval": r"approv\w*|\bfda\b|off[\s-]?label|what ages?|how old|babies|toddlers?",
    "mechanism": r"how (?:does|do)\s+(?:it\s+|they\s+|\w+\s+)?work\b|mechanism|what does\s+(?:it\s+|\w+\s+)?block",
    "duration": r"how long (?:do|will|can|are|is) (?:you|u|i|people|he|she|they|kids|it)\b.*\b(?:on|stay|take|used)|"
    r"long[\s-]term|taper\w*|length of time|how many (?:months|years)",
    "interactions": r"interact\w*",
}
_TOPIC_PATTERNS = {topic: re.compile(rx, re.IGNORECASE) for topic, rx in _TOPIC_WORDS.items()}


def topics_in_text(text: str) -> list[str]:
    """Topics named in the text, in the order they appear."""
    found: list[tuple[int, str]] = []
    for topic, pattern in _TOPIC_PATTERNS.items():
        match = pattern.search(text)
        if match:
            found.append((match.start(), topic))
    return [topic for _, topic in sorted(found)]


_COMPARE = re.compile(r"\b(?:vs\.?|versus|compare\w*|differen\w*|better|worse|safer|faster|slower|or)\b", re.I)


def sounds_like_comparison(text: str) -> bool:
    return bool(_COMPARE.search(text))


# Wording that clearly names a general topic; it overrides a general intent the classifier may have mixed up.
_GENERAL_WORDS: dict[str, str] = {
    "analogy": r"light ?switch|light bulb|\bbuilding\b|\bfloor\b|analogy",
    "read_more": r"websites?|read more|learn more|resources?|\blinks?\b",
    "emerging": r"in development|clinical trials?|\bstud(?:y|ies)\b|emerging|"
    r"new(?:er|est)? (?:treatments?|medicines?|drugs?|meds)",
    "biologics": r"biologics?|interleukins?|\bILs?\b|antibod\w*",
    "key_points": r"key points|summar\w+|main points|takeaways?|in short",
    "goals": r"\bgoals?\b|aim of treatment|success look",
    "immunosuppressants": r"immune[\s-]suppress\w*|immunosuppress\w*|off[\s-]label",
    "how_they_help": r"itch[\s-]scratch|how do (?:they|these|systemic \w+) help|inflammation",
    "when_used": r"when (?:are|do|would|should|is)\b.*\b(?:used|needed|start\w*|need)|creams? (?:aren'?t|not|don'?t)",
}
_GENERAL_PATTERNS = {topic: re.compile(rx, re.IGNORECASE) for topic, rx in _GENERAL_WORDS.items()}


def general_topic_in_text(text: str) -> str | None:
    return next((topic for topic, p in _GENERAL_PATTERNS.items() if p.search(text)), None)


# "which medicines ..." questions answered from structured attributes.
_WHICH: dict[str, str] = {
    "not_immune": r"(?:don'?t|do not|doesn'?t|does not|without|not)\s+(?:\w+\s+){0,2}(?:suppress|weaken|lower)\w*|"
    r"safe for (?:my|the) immune",
    "immune": r"suppress\w*|weaken\w*|immunosuppress\w*",
    "injection": r"shots?|inject\w*|needles?",
    "mouth": r"pills?|tablets?|by mouth|oral\w*|swallow",
    "fastest": r"fast\w*|quick\w*|soonest|rapid\w*",
    "slowest": r"slow\w*|longest",
    "biologic": r"biologics?",
    "jak_inhibitor": r"\bjak",
    "approved": r"approv\w*|\bfda\b",
}
_WHICH_PATTERNS = {k: re.compile(rx, re.IGNORECASE) for k, rx in _WHICH.items()}


def which_question(text: str) -> str | None:
    """The attribute a "which medicines..." question is about, or None."""
    return next((k for k, p in _WHICH_PATTERNS.items() if p.search(text)), None)


_LIST = re.compile(
    r"\b(?:which|what)\b.*\b(?:ones?|medicines?|meds|medications?|drugs?|options?)\b|"
    r"\bare there (?:any )?(?:shots|pills|injections|medicines|meds)\b|\blist\b",
    re.I,
)


def asks_for_a_list(text: str) -> bool:
    """True for questions across the medicines ("are there shots for eczema", "which ones are pills")."""
    return bool(_LIST.search(text))


# Subjects people ask about that the clinic's handouts never cover; they get an honest "not covered".
_UNCOVERED: dict[str, str] = {
    "missed or late doses": r"\bmiss(?:ed|ing)?\b.{0,30}\b(?:dose|shot|pill|injection)s?\b|\bforg[eo]t\w*\b|"
    r"\blate dose|\bskip(?:ped|ping|s)?\b",
    "overdoses": r"overdos\w*|too (?:much|many)",
    "alcohol": r"\balcohol\b|\bdrink(?:ing)?\b|\bbeer\b|\bwine\b",
    "vaccines": r"vaccin\w*|immuni[sz]ation|flu shot",
    "diet and food": r"\bfoods?\b|\bdiet\b|grapefruit",
    "costs and insurance": r"\bcost\w*|\bprice\b|insurance|copay|medicaid|medicare|\bgenerics?\b|cheap\w*|\bpay\b",
    "storing medicines": r"\bfridge\b|refrigerat\w*|\bstor(?:e|ed|age|ing)\b|room temperature",
    "disposing of pens and needles": r"get rid of|dispos\w*|sharps|throw (?:away|out)",
    "travel": r"\bfly(?:ing)?\b|\bplanes?\b|\btravel\w*|airport",
    "how long a medicine stays in the body": r"half[\s-]?life",
    "skin care products and baths": r"bleach|wet wraps?|moisturi[sz]\w*|lotions?|emollients?|\bbaths?\b",
}
_UNCOVERED_PATTERNS = {subject: re.compile(rx, re.IGNORECASE) for subject, rx in _UNCOVERED.items()}


def uncovered_subject(text: str) -> str | None:
    """The uncovered subject the text asks about, or None."""
    return next((subject for subject, p in _UNCOVERED_PATTERNS.items() if p.search(text)), None)


_YES = re.compile(r"^(?:y|yes|yeah|yep|ok|okay|sure|confirm|delete|delete it|yes,? delete( it)?)[.!]*$", re.I)
_NO = re.compile(r"^(?:n|no|nope|cancel|keep( it)?|no,? keep it|don'?t)[.!]*$", re.I)


def yes_or_no(text: str, intent: str | None) -> bool | None:
    """The answer to a yes/no question, or None when the message is about something else."""
    if _YES.match(text) or intent == "affirm":
        return True
    if _NO.match(text) or intent == "deny":
        return False
    return None


def topic_alternatives(topic: str) -> tuple[str, ...]:
    """A topic with the fallbacks its intent allows (side effects -> boxed warnings)."""
    return next((alts for alts in TOPIC_INTENTS.values() if alts[0] == topic), (topic,))


# Words that carry no subject of their own in this domain; what is left after them and the topic words
# decides whether a topic-only question ("what are the side effects?") needs a clarifying question.
_FILLER = frozenset(
    "a an and any are be can could do does eczema for from have how i is it its it's me my of on or should "
    "tell the them there these they this to what when which who why will with you your about take taking "
    "work works working long fast often given there's".split()
)


def has_content(text: str) -> bool:
    """True when the text says more than filler and topic words ("what are the side effects?" does not)."""
    words = [w.strip("?.!,'\"") for w in text.lower().split()]
    return any(w and w not in _FILLER and not _is_topic_word(w) for w in words)


def _is_topic_word(word: str) -> bool:
    return bool(topics_in_text(word)) or word in {"side", "effects", "effect", "labs", "lab", "blood", "tests", "test"}


def only_names(wording: str) -> bool:
    """True when, names aside, the message is only filler ("methotrexate?", "what about MTX")."""
    words = [w.strip("?.!,") for w in wording.lower().split()]
    return all(w in _FILLER for w in words if w)
