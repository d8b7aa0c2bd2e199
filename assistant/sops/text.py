"""Text normalization shared by lexical search and answer composition.

Lower-casing, tokenizing, stop words, Snowball stemming, and the pharmacy abbreviation list used to
expand queries (and chunk text for the lexical index) so "PA" meets "prior authorization".
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "id",
        "dont",
        "doesnt",
        "cant",
        "wont",
        "whats",
        "hey",
        "hi",
        "pls",
        "please",
        "thanks",
        "thx",
        "ok",
        "okay",
        "u",
        "ur",
        "gonna",
        "wanna",
        "got",
        "get",
        "gets",
        "need",
        "needs",
        "do",
        "does",
        "anyone",
        "someone",
        "something",
        "thing",
        "things",
        "way",
        "ask",
        "asking",
        "question",
        "tell",
        "know",
    ]
)

# Pharmacy shorthand a technician types -> the words our SOPs use.
ABBREVIATIONS: dict[str, str] = {
    "pa": "prior authorization",
    "pas": "prior authorizations",
    "epa": "electronic prior authorization",
    "cmm": "covermymeds prior authorization",
    "cii": "schedule ii controlled substance",
    "c2": "schedule ii controlled substance",
    "c-ii": "schedule ii controlled substance",
    "ciii": "schedule iii controlled substance",
    "civ": "schedule iv controlled substance",
    "cv": "schedule v controlled substance",
    "cs": "controlled substance",
    "dea": "drug enforcement administration dea",
    "dur": "drug utilization review",
    "pic": "pharmacist in charge",
    "rph": "pharmacist",
    "tech": "technician",
    "techs": "technicians",
    "cpht": "certified pharmacy technician ptcb",
    "mtm": "medication therapy management",
    "cmr": "comprehensive medication review",
    "tmr": "targeted medication review",
    "map": "medication action plan",
    "pml": "personal medication list",
    "rts": "return to stock",
    "vis": "vaccine information statement",
    "iis": "immunization information system registry",
    "phi": "protected health information privacy",
    "hipaa": "hipaa privacy",
    "dob": "date of birth",
    "rx": "prescription",
    "rxs": "prescriptions",
    "erx": "electronic prescription",
    "escript": "e-rx electronic prescription",
    "escripts": "e-rx electronic prescriptions",
    "otc": "over the counter",
    "pse": "pseudoephedrine",
    "cmea": "combat methamphetamine epidemic act pseudoephedrine",
    "ndc": "national drug code",
    "npi": "national provider identifier",
    "bin": "bank identification number insurance",
    "pcn": "processor control number insurance",
    "pbm": "pharmacy benefit manager",
    "tpl": "third party",
    "ins": "insurance",
    "pt": "patient",
    "pts": "patients",
    "md": "prescriber doctor",
    "dr": "doctor prescriber",
    "doc": "doctor prescriber",
    "temp": "temperature",
    "temps": "temperatures",
    "fridge": "refrigerator",
    "bud": "beyond use date",
    "pec": "primary engineering control hood",
    "csos": "controlled substance ordering system",
    "poa": "power of attorney",
    "ce": "continuing education",
    "bls": "basic life support",
    "cpr": "basic life support",
    "ltc": "long term care",
    "sig": "directions",
    "qty": "quantity",
    "ds": "days supply",
    "tx": "treatment",
    "dx": "diagnosis",
    "hx": "history",
    "f/u": "follow up",
    "fu": "follow up",
    "vm": "voicemail",
    "id": "identification",
    "abn": "advance beneficiary notice",
    "mr": "not on formulary",
    "nf": "not on formulary",
    "rtc": "return to clinic",
    "ptcb": "pharmacy technician certification board",
    "osha": "occupational safety",
    "fwa": "fraud waste abuse",
    "ppe": "personal protective equipment garb",
    "usp": "usp compounding",
}

# A Snowball stemmer keeps its working state on the instance, so one shared by threads corrupts
# words (the Slack app answers on several threads): one stemmer per thread.
_local = threading.local()


def _stemmer() -> snowballstemmer.stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


_DIGIT_PLURAL = re.compile(r"\b(\d+)'?s\b")  # "222s" / "222's" -> "222" (form numbers, codes)


def raw_tokens(text: str) -> list[str]:
    return _TOKEN.findall(_DIGIT_PLURAL.sub(r"\1", text.lower().replace("’", "'")))


def content_terms(text: str) -> list[str]:
    """Stemmed, stop-word-free terms (order kept, duplicates kept)."""
    return [stem(t) for t in raw_tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


def expand_abbreviations(text: str) -> str:
    """Append the long forms of any abbreviations found (the original words stay)."""
    extra = []
    for tok in set(raw_tokens(text)):
        long_form = ABBREVIATIONS.get(tok)
        if long_form:
            extra.append(long_form)
    return text if not extra else f"{text} ({'; '.join(sorted(extra))})"
