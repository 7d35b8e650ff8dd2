"""spaCy names and patterns: medicine mentions, red-flag phrases and personal/present-tense cues.

Everything is built from the blank English pipeline (``bot.models.blank_nlp``) in constructors, never at
import time. Patterns tolerate the way people type: FUZZY on long words (with a stricter budget than spaCy's
default, see ``_name_fuzzy`` and ``_flag_fuzzy``), LOWER alternatives for shorthand and REGEX for numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from spacy.matcher import Matcher, PhraseMatcher
from spacy.matcher.levenshtein import levenshtein

from bot.models import blank_nlp

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

Urgency = Literal["emergency", "urgent", "routine"]

# ---------------------------------------------------------------------------------------------------------
# Medicine names
# ---------------------------------------------------------------------------------------------------------


def _name_list(text: str) -> tuple[str, ...]:
    """Comma-separated names (lines starting with # are comments) -> a tuple of names."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]
    return tuple(" ".join(name.split()) for name in " ".join(lines).split(",") if name.strip())


# Medicines the knowledge base does not cover. They are recognised only so the bot can say it has no
# information about them (and so they are never fuzzily mistaken for a covered medicine).
DEFAULT_UNKNOWN: tuple[str, ...] = _name_list(
    """
    # creams and ointments
    tacrolimus, Protopic, pimecrolimus, Elidel, crisaborole, Eucrisa, ruxolitinib, ruxolitinib cream,
    Opzelura, tapinarof, Vtama, roflumilast, Zoryve, hydrocortisone, triamcinolone, Kenalog, clobetasol,
    desonide, mometasone, Elocon, fluocinonide, betamethasone, steroid cream, steroid ointment, topical
    steroid, topical steroids, mupirocin, Bactroban, Vaseline, Aquaphor, Eucerin, CeraVe,
    # pain and fever
    Tylenol, acetaminophen, paracetamol, ibuprofen, Advil, Motrin, naproxen, Aleve, aspirin,
    # allergy
    Benadryl, diphenhydramine, cetirizine, Zyrtec, loratadine, Claritin, fexofenadine, Allegra,
    hydroxyzine, Atarax, antihistamine, antihistamines, montelukast, Singulair, omalizumab, Xolair,
    EpiPen, albuterol, fluticasone, Flonase, budesonide,
    # antibiotics and antivirals
    antibiotic, antibiotics, amoxicillin, Augmentin, Bactrim, trimethoprim, sulfamethoxazole,
    cephalexin, Keflex, doxycycline, clindamycin, azithromycin, Zithromax, acyclovir, valacyclovir,
    Valtrex,
    # other common medicines people ask about
    allopurinol, melatonin, isotretinoin, Accutane, birth control, tofacitinib, Xeljanz, Jakafi,
    St. John's wort, St John's wort, antacid, antacids, Tums, omeprazole, Prilosec, inhaler, fish oil,
    multivitamin
    """
)

# Words that look like medicine names to an edit-distance comparison but are ordinary English.
_NEVER_FUZZY: frozenset[str] = frozenset(
    """
    about above after again alive allergy always angry another around asking because before being below
    better between cream creams doctor during either every fever fewer getting having himself herself
    itching itchy medicine medicines months morning mother never normal nothing other others period
    please pregnant rather really since sister should steroid steroids still taking their there
    these thing things those today tonight under until weeks where which while would wrong years
    injection injections injected injecting infection infections infected swelling swollen
    cycle cycles cyclist
    """.split()
)


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
    if len(input_text) < 5 or input_text in _NEVER_FUZZY or not input_text.isalpha():
        return False
    budget = _edit_budget(pattern_text) if fuzzy < 0 else fuzzy
    if budget == 0 or input_text[0] != pattern_text[0]:
        return False
    return bool(levenshtein(input_text, pattern_text, budget) <= budget)


class NameMatcher:
    """Finds medicine names (exact first, then misspelled) in free text."""

    def __init__(self, names: Mapping[str, Sequence[str]], unknown: Sequence[str] = DEFAULT_UNKNOWN) -> None:
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
        # One turn looks up the same text several times (assistant, safety screen, masking); keep the last.
        self._last: tuple[str, tuple[Mention, ...]] = ("", ())

    def find(self, text: str) -> list[Mention]:
        """Medicine mentions ordered by position; overlapping matches resolve to exact, then longest."""
        last_text, last_mentions = self._last
        if text == last_text:
            return list(last_mentions)
        mentions = self._find(text)
        self._last = (text, tuple(mentions))
        return mentions

    def _find(self, text: str) -> list[Mention]:
        doc = self._nlp.make_doc(text)
        strings = self._nlp.vocab.strings
        exact = [(strings[k], s, e) for k, s, e in self._exact(doc)]
        chosen = _pick_longest(exact)
        taken = {i for _, s, e in chosen for i in range(s, e)}
        fuzzy = []
        for key_id, start, end in self._fuzzy(doc):
            if taken.intersection(range(start, end)):
                continue
            key = strings[key_id]
            fuzzy.append((key, start, end, self._distance(key, doc[start:end].text.lower())))
        fuzzy.sort(key=lambda m: (-(m[2] - m[1]), m[3], m[1]))
        picked_fuzzy = _pick_longest([(k, s, e) for k, s, e, _ in fuzzy], presorted=True)
        mentions = [self._mention(doc, k, s, e, True) for k, s, e in chosen]
        mentions += [self._mention(doc, k, s, e, False) for k, s, e in picked_fuzzy]
        mentions.sort(key=lambda m: m.start_char)
        return mentions

    def drug_ids(self, text: str) -> list[str]:
        """The distinct medicine ids named in the text, in order of first mention."""
        return list(dict.fromkeys(m.drug_id for m in self.find(text)))

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


# ---------------------------------------------------------------------------------------------------------
# Red flags
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    urgency: Urgency
    reason: str


# Every category a red flag (or an exemplar) can have, with its base urgency and a short reason for staff.
# The safety screen adjusts urgency by medicine (fever, pregnancy) and adds the hotline. Between verdicts of
# the same urgency, the one listed first here wins (more specific first).
CATEGORIES: dict[str, Category] = {
    "emergency_allergy": Category("emergency", "allergic reaction: swelling of lips, tongue, face or throat"),
    "emergency_breathing": Category("emergency", "cannot breathe"),
    "emergency_chest_pain": Category("emergency", "chest pain"),
    "emergency_seizure": Category("emergency", "seizure"),
    "emergency_fainting": Category("emergency", "fainting or passed out"),
    "emergency_overdose": Category("emergency", "swallowed pills or took an extra or wrong dose"),
    "emergency_self_harm": Category("emergency", "thoughts of self-harm"),
    "emergency_reported": Category("emergency", "emergency reported"),
    "blisters_fever": Category("urgent", "blisters with fever"),
    "infection_fever": Category("urgent", "fever or infection on an immune-suppressing medicine"),
    "infection_skin": Category("urgent", "oozing or infected skin"),
    "jaundice_liver": Category("urgent", "yellow skin or eyes, or dark urine"),
    "bleeding": Category("urgent", "bleeding or bruising"),
    "breathing_nonacute": Category("urgent", "breathing trouble (not acute)"),
    "allergic_reaction": Category("urgent", "allergic reaction without breathing trouble"),
    "kidney_signs": Category("urgent", "possible kidney problem (foamy urine or swelling)"),
    "blood_clot": Category("urgent", "possible blood clot (leg pain or swelling)"),
    "vomiting": Category("urgent", "vomiting that does not stop"),
    "severe_rash": Category("urgent", "severe rash with peeling or blisters"),
    "pregnancy_on_teratogen": Category("urgent", "pregnancy on methotrexate or mycophenolate"),
    "pregnancy_other": Category("routine", "pregnancy or breastfeeding"),
    "side_effect_now": Category("routine", "side effect now"),
    "missed_dose": Category("routine", "missed dose"),
    "dose_change": Category("routine", "dose question or change"),
    "interaction": Category("routine", "another medicine, alcohol or supplement with this medicine"),
    "other_medicine": Category("routine", "question about another medicine they take"),
    "vaccine": Category("routine", "vaccine while on a medicine"),
    "request_human": Category("routine", "asked for a person"),
}

# Names of the clinic's systemic medicines, for patterns that need "a medicine" without the knowledge base
# (misspellings are caught by FUZZY). The knowledge base's own names go to NameMatcher.
COMMON_MEDICINE_NAMES: tuple[str, ...] = tuple(
    """
    methotrexate mtx trexall otrexup rasuvo xatmep cyclosporine ciclosporin neoral sandimmune gengraf
    azathioprine imuran azasan mycophenolate cellcept myfortic mmf prednisone prednisolone medrol
    steroids dupixent dupilumab rinvoq upadacitinib cibinqo abrocitinib olumiant baricitinib adbry
    tralokinumab ebglyss lebrikizumab nemluvio nemolizumab
    """.split()
)
# Medicine words the dose patterns can refer to.
_MED = "|".join(
    [
        *"meds med medicine medicines medication medications pill pills tablet tablets tabs capsules".split(),
        *"shot shots injection injections dose doses dosage treatment it them this".split(),
        *COMMON_MEDICINE_NAMES,
    ]
)
_BREATHE = "breathe|breath|breathing|breth|brethe|breathin|breate|breahte|breathe|brathe"
_GAP = "_{0,3}"

# category -> patterns in a small notation: tokens separated by spaces; "a|b" alternatives (compared with
# _flag_fuzzy: exact, or one typo in words of 7+ letters); a trailing "?" makes a token optional;
# "_{m,n}" skips m to n tokens; "/re/" is a regex on the lowercase token; "#temp" is a body temperature.
RED_FLAG_PATTERNS: dict[str, list[str]] = {
    "emergency_breathing": [
        f"cnt|cant|cannt|cnnt|cudnt|couldnt|couldn't|cn't {_BREATHE}",
        f"ca|can|could|wo|do|does|did|is|cn n't|nt|not|t {_BREATHE}",
        f"trouble|difficulty|difficult|hard|harder|struggling|struggle|struggles|problems|problem|issues "
        f"to|with? {_BREATHE}",
        f"stopped|stop|stops|not|isnt|isn't|nt|n't|aint|barely|hardly _{{0,1}} {_BREATHE}",
        "gasping|gasps|choking",
        "turning|turned|going|gone|lips|lip|face _{0,2} blue",
        "blue lips|lip|face",
        "catch _{0,1} breath|breathe",
    ],
    "emergency_allergy": [
        f"swelling|swollen|swell|swelled|swells|sweling|swolen|puffy|puffing|puffed|tight|closing {_GAP} "
        "lip|lips|tongue|throat|face|mouth",
        f"lip|lips|tongue|throat|face|mouth {_GAP} swelling|swollen|swell|swelled|swells|sweling|swolen|"
        "puffy|puffing|puffed|closing|close|closed|tight|tightening|blowing|huge|big|fat|thick",
        "anaphylaxis|anaphylactic|anaphalaxis|anaphylaxsis|anaphylatic",
        "epipen|epi|epinephrine|adrenaline",
        f"wheezing|wheezy|wheeze|wheezes|wheezed|wheezin|weezing|wheazing {_GAP} after|since "
        "_{0,2} shot|injection|jab|dose|dupixent|dupi|dupilumab|adbry|ebglyss|nemluvio",
        "hives|welts _{0,6} breathe|breathing|breath|swelling|swollen|throat|tongue|lips",
    ],
    "emergency_chest_pain": [
        f"chest {_GAP} pain|pains|hurts|hurt|hurting|tight|tightness|pressure|ache|aches|aching|squeezing",
        "heart attack",
    ],
    "emergency_seizure": [
        "seizure|seizures|seizing|seized|siezure|siezures|seizer|sezure|convulsing|convulsions|convulsion|convulsed",
        "having|had|has a? fit",
    ],
    "emergency_fainting": [
        "fainted|fainting|faints|fanted|fainthed",
        "passed|passing|pass|blacked|blacking out",
        "feel|feels|felt|feeling faint",
        "unconscious|unresponsive|collapsed|collapse",
        "wo|wont|won't|cant|ca|can n't|nt|not? wake up",
        "not waking up",
    ],
    "emergency_reported": ["need|call|calling|get an|the? ambulance|paramedics"],
    "emergency_overdose": [
        f"swallowed|swalowed|swallowd|swollowed|swallow|ate|eaten|chewed|downed|eat|drank|drunk {_GAP} "
        "pills|pill|tablets|tablet|tabs|bottle|capsules|meds|medicine|medication|whole|all|bunch|handful|"
        f"several|few|some|couple|lots|one|#num|{_MED}",
        "whole|entire|full bottle|pack|packet|box|blister|sheet|container|strip|vial",
        "all _{0,4} pills|tablets|tabs|meds|capsules|doses",
        f"got|gotten|getting|get into {_GAP} pills|pill|tablets|bottle|meds|medicine|medication|cabinet|"
        "purse|methotrexate|mtx",
        "got|gotten|get ahold|hold of",
        "overdose|overdosed|od|od'd|oded|poisoned|poisoning|poison",
        "put|stuck|popped _{0,5} in|into his|her|their|my|the mouth",
        f"bit|bite|biting|chewed|chewing|sucked|sucking|licked|licking {_GAP} "
        "pill|pills|capsule|capsules|tablet|tablets|tab|tabs",
    ],
    # an extra or wrong dose counts only when said to have happened ("can I take an extra dose?" is a
    # dose question)
    "emergency_overdose:dose": [
        f"too many|much {_GAP} pills|pill|tablets|doses|shots|{_MED}",
        "took|taken|take|gave|given|give|injected|used|had|did too many|much",
        "took|taken|gave|given|injected|administered|had|did|used|accidentally|accidently|mistakenly "
        f"{_GAP} double|extra|twice|2x|two|2|another|wrong|both|doubled|again",
        f"double|extra|wrong {_MED}",
        f"by accident|mistake {_GAP} twice|double|extra|again|two|2",
        "took|taken|gave|given|injected|did _{0,8} again|twice",
        f"twice|2x|double {_GAP} this|same|in|one week|day|days|today",
        "instead of _{0,3} weekly|week|once",
        "gave|given|give|took|taken|take|injected|used _{0,5} instead",
        "daily|every instead _{0,2} weekly|week",
        "wrong medicine|meds|medication|pills|pill|syringe|pen",
        "gave|given|give|took|taken|injected|used _{0,6} by mistake|accident",
        "accidentally|accidently|mistakenly|accidentaly took|taken|gave|given|injected|used|swallowed",
        "someone|somebody|brother|brothers|sister|sisters|husband|husbands|wife|wifes|mom|moms|dad|dads|"
        "grandma|grandmas|grandpa|grandpas else|'s|s|else's|elses? _{0,1} "
        f"{_MED}|prescription",
    ],
    "emergency_self_harm": [
        f"want|wants|wanna|wish|wishes|wished|wanted|wanting|ready|going|gonna {_GAP} die|dead|disappear",
        "longer _{0,3} alive|live|living|exist|here|around",
        "kill|killing|hurt|hurting|harm|harming|cut|cutting|end|ending myself|myslef|mysef|my|herself|himself|"
        "themselves|themself|yourself",
        "end|ending _{0,1} it|life|everything all?",
        "kms|kys|unalive",
        "suicide|suicidal|sucidal|suicdal|suicidle|sucide",
        "do|does|did n't|nt|not want|wanna _{0,2} live|alive|exist|here|wake",
        "dont|don't|doesnt|doesn't want|wanna _{0,2} live|alive|exist|here",
        "better off _{0,4} dead|gone|without",
        "why _{0,3} alive|living|here|born",
        "done|finished|tired|sick with|of life|living|everything|existing|alive|being",
        "wish|if _{0,2} was|were|wasnt|wasn't dead|gone|never|born",
        "no reason|point to|in live|living",
        "point|reason of|in|to living|life|going|existing|being",
        "not|isnt|isn't|aint|nt|n't worth _{0,1} living|it|alive",
        "rather|better|should|well _{0,2} be dead",
        "self harm|harming|injury",
        "self-harm|selfharm|self-harming",
    ],
    "infection_fever": [
        "fever|fevers|feverish|fevered|fevr|fver|feaver|fevere|febrile|fiver",
        "temp|temperature|temps #temp?",
        "#temp f|degrees|deg|fahrenheit|celsius|c",
        "running|burning a? hot|up",
        "chills|shivering|rigors",
        "infection|infections|infected|infectoin|infecton",
        "flu|strep|covid|pneumonia|bronchitis|shingles|chickenpox|uti|sepsis",
        "chicken pox",
        "sore throat",
        "a|the|bad cold",
        "sick|ill|unwell|lethargic|floppy",
    ],
    "infection_skin": [
        "oozing|ooze|oozes|oozy|oozed|weeping|weepy|pus|puss|draining|crusty|crusted|crusting|crust|honey",
        "skin|eczema|rash|patches|sores|spots|cuts|scratches|wounds _{0,4} infected|hot|streaks|streaking",
        "red streaks|streak|lines",
        "hot to the? touch",
    ],
    "blisters_fever": [],  # derived: blisters + fever in one message
    "jaundice_liver": [
        f"yellow|yellowish|yellowy|yello|yelow|yellowing {_GAP} skin|eyes|eye|whites|face",
        f"skin|eyes|eye|whites {_GAP} yellow|yellowish|yellowy|yello|yelow|yellowing",
        "jaundice|jaundiced|jaundace|jondice|jaundise|jaundus",
        f"dark|brown|tea|cola|coke|coffee|orange {_GAP} urine|pee|wee|piss|peeing",
        f"urine|pee|wee|piss|peeing|peed|pees {_GAP} dark|brown|tea|cola|coke|coffee|orange|darker",
        "pale|white|grey|gray|clay poop|stool|stools|poo",
    ],
    "bleeding": [
        "bleeding|bleeds|bled|bleed|bleedin|bledding|nosebleed|nosebleeds|hemorrhage",
        "nose bleed|bleeds|bleeding",
        "bruising|bruises|bruise|bruised|bruisin|brusing|bruses|bruized",
        "blood in|when|from",
        f"bloody {_GAP} nose|pee|urine|poop|stool|stools|diarrhea|vomit|spit|gums",
        "coughing|peeing|pooping|throwing|vomiting|spitting up? blood",
        "red|purple|tiny _{0,1} dots|spots|specks",
        "petechiae|purpura",
        f"pee|urine|poop|stool|stools|poo {_GAP} red|pink|bloody|black|tarry",
        "black|tarry poop|stool|stools|poo",
    ],
    "breathing_nonacute": [
        f"short|shortness|out of? {_BREATHE}",
        f"short of {_BREATHE}",
        "winded|breathless",
        "cough|coughing|coughs|coughed|cougning",
        "wheezing|wheezy|wheeze|wheezes|wheezed|wheezin|weezing|wheazing",
        "chest _{0,2} tight|tightness",
    ],
    "allergic_reaction": [
        "hives|welts",
        "allergic|allergy reaction|reacting",
        "reaction to|from|after _{0,3} shot|injection|dose|it|medicine|med|meds|pill",
    ],
    "kidney_signs": [
        f"foamy|frothy|bubbly|foam|bubbles|foaming|fomy {_GAP} pee|urine|wee",
        f"pee|urine|wee|peeing {_GAP} foamy|frothy|bubbly|foam|bubbles|foaming|fomy",
        f"swollen|swelling|puffy|swelled|swell|swolen {_GAP} ankles|ankle|legs|leg|feet|foot|eyelids|hands",
        f"ankles|ankle|legs|feet|foot {_GAP} swollen|swelling|puffy|swelled|swell|swolen|swollin",
        "not|barely|hardly|hasnt|hasn't|havent|haven't|hasn peeing|peed|pee|urinating",
        "peeing|pee|peed less|much",
        "kidney|kidneys pain|hurt|hurts|problem|problems",
    ],
    "vomiting": [  # also derived: vomiting + a sign that it does not stop
        "ca|cant|can't|cnt|cannot|wo|wont|wont n't|nt|not? keep _{0,3} down",
    ],
    "severe_rash": [
        f"skin|rash {_GAP} peeling|peel|peels|peeled|sloughing|coming|falling|blistering",
        f"peeling|blistering|sloughing {_GAP} skin|rash|everywhere|all",
        "blisters|blister|blistering|blistered|bilsters",
        "punched out|-",
        "mouth sores|ulcers _{0,4} rash",
    ],
    "pregnancy_other": [
        "pregnant|pregnancy|preg|prego|preggo|preggers|pregant|pregnat|pregnent|prenant|expecting|"
        "pregnancies|conceive|conceived|conceiving|ttc",
        "trying for a baby",
        # planning a pregnancy: counts when someone says it of themselves (see the safety screen)
        "missed|late period",
        "period _{0,2} late|missed|overdue",
        "positive pregnancy? test",
        "breastfeeding|breastfeed|breastfed|breast|nursing|pumping|chestfeeding|bfing",
    ],
    "pregnancy_other:plan": [
        "trying|planning|plan|want|wanting|hoping|ttc _{0,3} pregnant|baby|conceive|pregnancy|family",
    ],
    "blood_clot": [
        f"calf|leg|legs|thigh {_GAP} hurts|hurt|hurting|pain|painful|swollen|swelling|warm|red|tender",
        f"swollen|painful|warm|red|tender {_GAP} calf|leg|thigh",
        "blood clot|clots",
        "clot|dvt|embolism",
    ],
    "side_effect_now": [
        f"red|pink|itchy|swollen|puffy|watery|crusty|goopy|irritated|bloodshot|sore|burning {_GAP} eyes|eye|eyelids",
        f"eyes|eye|eyelids {_GAP} red|pink|itchy|swollen|puffy|watery|crusty|goopy|irritated|bloodshot|sore|"
        "burning|gunky",
        "pink eye|eyes",
        "pinkeye|conjunctivitis|conjuctivitis|conjunctivits",
        "injection|shot site|spot",
        "where _{0,2} injected|inject|injection|shot",
        "cold sore|sores",
        "fever blister|blisters",
        "nausea|nauseous|nauseated|queasy|nausious|nauseus|stomachache|stomach|tummy|diarrhea|diarrhoea",
        "vomiting|vomited|vomit|vomits|throwing|threw|puking|puked|puke|barfing|barfed",
        "headache|headaches|migraine|migraines|dizzy|dizziness",
        "hair _{0,2} falling|loss|thinning|growth|growing|fall",
        "losing|lost|shedding hair",
        "gained|gaining _{0,3} weight|pounds|lbs",
        "put on _{0,2} weight|pounds|lbs",
        "gums|gum _{0,2} swollen|swelling|bleeding|sore|puffy",
        "tremor|tremors|shaky|shaking|trembling",
        "tired|fatigue|fatigued|exhausted|drowsy",
        "mouth sores|ulcers",
        "joint|joints|muscle pain|ache|aches",
        "side effect|effects",
        "sideeffect|sideeffects|side-effects",
        "acne|pimples|breakout|breaking",
        "rash|rashes|bumps|itchy",
        "worse|flare|flaring|flared|flareup|flares|worsening",
        "mood|moody|depressed|depression|anxious|anxiety|irritable|cranky|crying|insomnia|sleepless",
        "ca|can|cant|cannot n't|nt|not? sleep",
        "cholesterol|pressure|bp|bloodpressure _{0,3} high|up|elevated|higher|rising|raised",
    ],
    "missed_dose": [
        f"forgot|forget|forgotten|fogot|forgetting|missed|miss|skipped|skip|skipping|missing {_GAP} "
        f"take|taking|give|giving|{_MED}|week|weeks|day|days|weekend|yesterday|today|tonight|morning|night|"
        "monday|tuesday|wednesday|thursday|friday|saturday|sunday|dose|doses",
        f"did|didnt|didn't|do|dont|don't|havent|haven't|have|has|hasnt|hasn't n't|nt|not? take|taken|give|"
        f"given|get|gotten|had {_GAP} {_MED}",
        f"late {_GAP} {_MED}",
        f"{_MED} {_GAP} late|overdue",
        "#num|few|couple|a|one|two|three days|day|weeks|week late|overdue",
        "ran|run|running out",
    ],
    "dose_change": [
        f"lower|lowering|reduce|reducing|decrease|decreasing|cut|cutting|halve|half|increase|increasing|"
        f"raise|raising|double|bump|change|changing|adjust|adjusting|taper|tapering|wean|weaning|drop|"
        f"dropping|split|crush|space|spread|stretch|extra {_GAP} dose|doses|dosage|mg|{_MED}",
        f"stop|stopping|stopped|quit|quitting|pause|pausing|paused|hold|holding|skip|skipping|discontinue {_GAP} "
        f"{_MED}",
        f"break from {_GAP} {_MED}",
        "old|previous|usual|last dose|dosage",
        f"come|coming|get|getting|go|going|wean|taper off {_GAP} {_MED}",
        f"switch|switching|swap|swapping|change|changing {_GAP} from|to|{_MED}",
        "how much _{0,3} take|give|inject",
        f"higher|lower|bigger|smaller|stronger|weaker|different _{{0,1}} dose|dosage|doses|mg|{_MED}",
        f"spit|spat|spitting|threw|vomited|puked _{{0,1}} out|up? {_GAP} {_MED}",
        "give|take|use|inject more|less|another|again|early|earlier|sooner",
        f"{_MED} {_GAP} early|earlier|sooner",
        f"give|take|inject|skip|hold|start|keep {_GAP} {_MED} if|when|while|because|before|during",
        "wrong dose|amount",
        "more|less often|frequently",
    ],
    "interaction": [
        "alcohol|drinking|drink|drinks|beer|beers|wine|booze|drunk|grapefruit|weed|marijuana|cannabis|vape",
        "supplement|supplements|vitamin|vitamins|herbal|herbs|probiotic|probiotics",
        "over the counter",
        "otc",
        "painkiller|painkillers|antibiotic|antibiotics|antihistamine|antihistamines",
        "antidepressant|antidepressants|antifungal|antifungals",
        "pain reliever|relievers|medicine",
        "cold|allergy|cough medicine|meds",
        "birth control",
        "other meds|medicines|medications|drugs|pills",
        "take|taking|use|using|have|having|give|giving|mix|combine|keep _{0,4} with|alongside|plus "
        f"my|his|her|their|the _{{0,1}} {_MED}",
    ],
    "other_medicine": [],  # from unknown-medicine mentions (see the safety screen)
    "vaccine": [
        "vaccine|vaccines|vaccination|vaccinations|vaccinated|vaccinate|vax|vaxx|vaxxed|vacine|vacines|"
        "vaccene|immunization|immunizations|immunisation|booster|boosters|mmr|varicella|tdap|rotavirus",
        "flu|covid|school|kindergarten|baby|routine|childhood|live|year|month shot|shots|jab|jabs",
    ],
    "request_human": [
        f"talk|speak|chat|connect|call|contact {_GAP} someone|somebody|person|human|nurse|doctor|doc|dr|"
        "provider|staff|team|pharmacist|dermatologist|derm|physician|clinic|office",
        "want|need|like|wanna|get|let|put|transfer|connect _{0,4} real|actual|human|person|nurse|doctor|"
        "someone|somebody|representative",
        "live person|agent|human",
        "human|person|representative|operator|agent|nurse please|pls|plz",
        "call|ring|phone me|back",
        "callback|call-back",
        f"nurse|doctor|doc|dr|someone|somebody {_GAP} call|contact|phone|ring|reach",
        "need|want a|the|my? nurse|doctor|doc|human|person",
        "refill|refills",
    ],
}

# Interaction words only count together with a medicine (the screen checks that).
_NEEDS_MEDICINE = {"interaction"}


def _flag_fuzzy(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for red-flag words: one typo in words of 7+ letters, two from 11 letters."""
    if input_text == pattern_text:
        return True
    if len(pattern_text) < 7 or len(input_text) < 6 or not input_text.isalpha():
        return False
    if input_text in _NEVER_FUZZY or input_text[0] != pattern_text[0]:
        return False
    budget = 1 if len(pattern_text) <= 10 else 2
    return bool(levenshtein(input_text, pattern_text, budget) <= budget)


_TEMP_RE = r"^(9[89]|10[0-7]|3[89]|40|41)([.,]\d+)?(f|c|°f|°c|°)?$"


def _token_spec(word: str) -> dict[str, Any]:
    gap = re.fullmatch(r"_\{(\d+),(\d+)\}", word)
    if gap:
        low, high = gap.groups()
        return {"OP": f"{{{low},{high}}}"}
    if word == "_":
        return {}
    optional = word.endswith("?") and len(word) > 1
    word = word[:-1] if optional else word
    spec: dict[str, Any]
    if word == "#temp":
        spec = {"LOWER": {"REGEX": _TEMP_RE}}
    elif word.startswith("/") and word.endswith("/") and len(word) > 2:
        spec = {"LOWER": {"REGEX": word[1:-1]}}
    else:
        alternatives = word.split("|")
        if "#num" in alternatives:
            alternatives.remove("#num")
            # "#num" inside alternatives: numbers like "5" or "five" count too
            spec = {"LOWER": {"FUZZY": {"IN": alternatives}}, "_num": True}
        else:
            spec = {"LOWER": {"FUZZY": {"IN": alternatives}}}
    if optional:
        spec["OP"] = "?"
    return spec


def _compile(pattern: str) -> list[list[dict[str, Any]]]:
    """One notation string -> Matcher patterns ("#num" alternatives split into a LIKE_NUM variant)."""
    tokens = [_token_spec(w) for w in pattern.split()]
    variants: list[list[dict[str, Any]]] = [[]]
    for spec in tokens:
        if spec.pop("_num", False):
            numeric = {"LIKE_NUM": True, **({"OP": spec["OP"]} if "OP" in spec else {})}
            variants = [v + [s] for v in variants for s in (spec, numeric)]
        else:
            variants = [v + [spec] for v in variants]
    return variants


@dataclass(frozen=True)
class RedFlag:
    """A phrase that signals a possible safety problem. ``span`` is (start_char, end_char); ``kind`` names
    the pattern group when a category has several ("dose" for an extra or wrong dose)."""

    category: str
    urgency: Urgency
    reason: str
    span: tuple[int, int]
    kind: str = ""


# Words that make vomiting more than a side effect.
_PERSISTENT = re.compile(
    r"\b(all (day|night|morning|evening)|non-?stop|keeps?|kept|won'?t stop|wont stop|can'?t keep|cant keep|"
    r"every (hour|time)|for hours|\d+ times|since (yesterday|last night|this morning)|constantly|over and over|"
    r"again and again|24 ?h|all the time)\b"
)
# Words right next to a fever/infection word that make it something else ("hay fever", a "fever blister" is
# a cold sore, a "flu shot" is a vaccine, "a cold sore" is not a cold).
_NOT_INFECTION_BEFORE = {"hay", "cabin"}
_NOT_A_CHANGE_BEFORE = {"after", "before", "since", "without", "when", "once"}
_NOT_INFECTION_AFTER = {
    "blister",
    "blisters",
    "dream",
    "dreams",
    "sore",
    "sores",
    "shot",
    "shots",
    "vaccine",
    "vaccines",
    "jab",
    "jabs",
    "booster",
    "boosters",
    "vax",
    "vaccination",
    "season",
    "weather",
}


class RedFlagMatcher:
    """Finds red-flag phrases; one flag per category and phrase, ordered by position."""

    def __init__(self) -> None:
        self._nlp = blank_nlp()
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=_flag_fuzzy)
        for category, patterns in RED_FLAG_PATTERNS.items():
            compiled = [p for text in patterns for p in _compile(text)]
            if compiled:
                self._matcher.add(category, compiled, greedy="LONGEST")

    def find(self, text: str) -> list[RedFlag]:
        doc = self._nlp.make_doc(text)
        found: dict[tuple[str, int, int], None] = {}
        for key_id, start, end in self._matcher(doc):
            key = self._nlp.vocab.strings[key_id]
            if key == "infection_fever" and not _is_real_infection(doc, start, end):
                continue
            if key == "dose_change" and start > 0 and doc[start - 1].lower_ in _NOT_A_CHANGE_BEFORE:
                continue  # "after stopping cyclosporine" is about what happens, not a request to change
            found[(key, start, end)] = None
        spans = [(k, doc[s:e].start_char, doc[s:e].end_char) for k, s, e in found]
        spans += _derived(spans, text.lower())
        flags = []
        for key, s, e in spans:
            category, _, kind = key.partition(":")
            base = CATEGORIES[category]
            flags.append(RedFlag(category, base.urgency, base.reason, (s, e), kind))
        return sorted(set(flags), key=lambda f: (f.span[0], f.category, f.kind))

    @staticmethod
    def needs_medicine(category: str) -> bool:
        """Categories whose words only count when a medicine is also named."""
        return category in _NEEDS_MEDICINE


def _is_real_infection(doc: Doc, start: int, end: int) -> bool:
    before = doc[start - 1].lower_ if start > 0 else ""
    after = doc[end].lower_ if end < len(doc) else ""
    return before not in _NOT_INFECTION_BEFORE and after not in _NOT_INFECTION_AFTER


_FEVER_WORDS = re.compile(r"\b(fever|fevers|feverish|febrile|temp|temperature|chills)\b|\b10[0-5](\.\d)?\b")


def _derived(spans: list[tuple[str, int, int]], lowered: str) -> list[tuple[str, int, int]]:
    """Flags that depend on two signs in one message: blisters with fever, vomiting that won't stop."""
    extra = []
    blisters = [
        s
        for s in spans
        if (s[0] == "severe_rash" and "blist" in lowered[s[1] : s[2]])
        or (s[0] == "side_effect_now" and "sore" in lowered[s[1] : s[2]])
    ]
    fever = [s for s in spans if s[0] == "infection_fever" and _FEVER_WORDS.search(lowered[s[1] : s[2]])]
    if blisters and fever:
        extra.append(("blisters_fever", min(blisters[0][1], fever[0][1]), max(blisters[0][2], fever[0][2])))
    vomit = [
        s for s in spans if s[0] == "side_effect_now" and re.search(r"vomit|throw|threw|puk|barf", lowered[s[1] : s[2]])
    ]
    if vomit and _PERSISTENT.search(lowered):
        extra.append(("vomiting", vomit[0][1], vomit[0][2]))
    return extra


# ---------------------------------------------------------------------------------------------------------
# Personal / present-tense cues
# ---------------------------------------------------------------------------------------------------------

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
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=_flag_fuzzy)
        # "is it ok to take ...": asking for oneself without a pronoun
        self._matcher.add("PERSON", [*_compile(_PERSON), *(p for t in _PERMISSION for p in _compile(t))])
        self._matcher.add(
            "STATE",
            [*_compile(f"{_PERSON}|{_BODY} _{{0,3}} {_STATE}"), *_compile(_STATEFUL_PERSON)],
        )
        self._matcher.add("TIME", [p for t in _TIME for p in _compile(t)])
        self._matcher.add("GENERAL", [p for t in _GENERAL for p in _compile(t)])
        self._matcher.add("HYPOTHETICAL", [p for t in _HYPOTHETICAL for p in _compile(t)])

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
