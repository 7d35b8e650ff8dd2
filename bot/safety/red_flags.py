"""Red-flag phrases: words that signal a possible safety problem, per category."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spacy.matcher import Matcher

from bot.nlp.patterns import compile_pattern, fuzzy_word
from bot.nlp.pipeline import blank_nlp
from bot.safety.categories import CATEGORIES, Urgency

if TYPE_CHECKING:
    from spacy.tokens import Doc

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
# fuzzy_word: exact, or one typo in words of 7+ letters); a trailing "?" makes a token optional;
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
        self._matcher = Matcher(self._nlp.vocab, fuzzy_compare=fuzzy_word)
        for category, patterns in RED_FLAG_PATTERNS.items():
            compiled = [p for text in patterns for p in compile_pattern(text)]
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
