"""Text normalization shared by lexical search and answer composition.

Lower-casing, tokenizing, stop words, Snowball stemming, and the technician vocabulary
(knowledge/vocabulary/technician_terms.yaml: abbreviations, phrase synonyms, misspellings) used to
expand questions *and* chunk text for the lexical index, so "PA" meets "prior authorization" and an
SOP that says "refrigerator" meets a question about the "fridge".
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import snowballstemmer
import yaml

from assistant.config import REPO_ROOT
from assistant.errors import InvalidInput

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


VOCABULARY_FILE = REPO_ROOT / "knowledge" / "vocabulary" / "technician_terms.yaml"


@dataclass(frozen=True)
class Vocabulary:
    """The technician vocabulary, ready to apply: single words by lookup, phrases by one regex."""

    words: dict[str, tuple[str, ...]]  # token -> what to add (long forms, canonical synonyms)
    phrases: dict[str, tuple[str, ...]]  # multi-word or punctuated variant -> what to add
    phrase_re: re.Pattern[str] | None
    triage_substances: tuple[str, ...]
    triage_not_drugs: tuple[str, ...] = ()  # dictionary entries that are everyday words ("caps")

    def additions(self, text: str) -> list[str]:
        """Long forms and canonical words for the shorthand found in ``text`` (sorted, unique)."""
        extra: set[str] = set()
        for tok in set(raw_tokens(text)):
            extra.update(self.words.get(tok, ()))
        if self.phrase_re is not None:
            for m in self.phrase_re.finditer(text.lower().replace("’", "'")):
                extra.update(self.phrases[m.group(1)])
        return sorted(extra)


def _is_word(key: str) -> bool:
    return bool(_TOKEN.fullmatch(key))


def _build_vocabulary(data: object, source: str) -> Vocabulary:
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: expected a mapping with abbreviations, synonyms, misspellings")
    words: dict[str, set[str]] = {}
    phrases: dict[str, set[str]] = {}

    def add(variant: str, meaning: str) -> None:
        variant, meaning = variant.strip().lower(), meaning.strip().lower()
        if not variant or not meaning or variant == meaning:
            return
        if _is_word(variant):
            words.setdefault(variant, set()).add(meaning)
        else:
            phrases.setdefault(variant, set()).add(meaning)

    try:
        for key, long_form in (data.get("abbreviations") or {}).items():
            add(str(key), str(long_form))
        for wrong, right in (data.get("misspellings") or {}).items():
            add(str(wrong), str(right))
        for group in data.get("synonyms") or []:
            members = [str(m) for m in group]
            for member in members[1:]:
                add(member, members[0])
        substances = tuple(str(s).strip().lower() for s in data.get("triage_substances") or [])
        not_drugs = tuple(str(s).strip().lower() for s in data.get("triage_not_drugs") or [])
    except (AttributeError, TypeError) as exc:
        raise InvalidInput(f"{source}: malformed vocabulary ({exc})") from exc
    # a corrected spelling brings its own expansion too ("insurence" -> "insurance")
    for meanings in words.values():
        for meaning in list(meanings):
            meanings.update(words.get(meaning, ()))
    phrase_re = None
    if phrases:
        alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
        phrase_re = re.compile(rf"(?<![a-z0-9])({alternation})(?![a-z0-9])")
    return Vocabulary(
        words={k: tuple(sorted(v)) for k, v in words.items()},
        phrases={k: tuple(sorted(v)) for k, v in phrases.items()},
        phrase_re=phrase_re,
        triage_substances=substances,
        triage_not_drugs=not_drugs,
    )


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"technician vocabulary not readable: {path} ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"technician vocabulary is not valid YAML: {path}") from exc
    return _build_vocabulary(data, path.name)


def expand_abbreviations(text: str, vocabulary: Vocabulary | None = None) -> str:
    """Append the long forms of shorthand, synonyms and misspellings found (the original words stay).

    Applied to questions and to chunk text alike, so both sides of retrieval meet in the SOPs' words.
    """
    extra = (vocabulary or load_vocabulary()).additions(text)
    return text if not extra else f"{text} ({'; '.join(extra)})"
