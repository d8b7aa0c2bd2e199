"""Deadline questions in plain language, without an LLM: keyword/regex parsing + fuzzy title matching.

Understood: "when is our DEA registration due?", "what's due this month", "what's overdue at main",
"when does Jane's license expire", "what's due in the next 2 weeks", "anything due today/tomorrow/
this week/next month". Anything else is answered ``no_match`` (the chat then tries the SOPs).
"""

from __future__ import annotations

import calendar as pycal
import re
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher
from typing import Literal

from pydantic import BaseModel, Field

from assistant.access import guarded
from assistant.calendar.digest import first_per_series
from assistant.calendar.models import Occurrence
from assistant.calendar.schedule import check_date
from assistant.calendar.series import CalendarData, collect, load_calendar, site_today
from assistant.errors import InvalidInput
from assistant.principal import Principal
from assistant.roles import Action
from assistant.store import Store

_STOP = set(
    [
        "a",
        "an",
        "and",
        "any",
        "anything",
        "are",
        "at",
        "by",
        "coming",
        "do",
        "does",
        "due",
        "expire",
        "expires",
        "expiring",
        "for",
        "from",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "it's",
        "our",
        "the",
        "their",
        "this",
        "to",
        "up",
        "us",
        "we",
        "what",
        "what's",
        "whats",
        "when",
        "where",
        "which",
        "will",
        "with",
        "next",
        "date",
        "deadline",
        "deadlines",
        "renew",
        "renewal",
        "renewed",
        "time",
        "need",
        "needs",
        "please",
        "tell",
        "me",
        "my",
        "of",
        "on",
    ]
)
_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
_CRED_WORDS = {
    "license": ("license", "licence", "registration"),
    "licence": ("license", "licence", "registration"),
    "registration": ("registration", "license"),
    "bls": ("bls", "cpr"),
    "cpr": ("bls", "cpr"),
    "ptcb": ("ptcb", "cpht"),
    "cpht": ("ptcb", "cpht"),
    "certification": ("cpht", "bls", "cert"),
    "credential": ("",),
    "credentials": ("",),
}
MATCH_THRESHOLD = 0.5


# no_calendar: nothing imported yet; person: a staff member's credentials or personal deadlines;
# overdue: what is overdue; window: what is due in a period; match: deadlines named in the question;
# no_match: the calendar has nothing matching (the chat then tries the SOPs).
AskKind = Literal["no_calendar", "person", "overdue", "window", "match", "no_match"]


class DeadlineAnswer(BaseModel):
    """A deadline question answered as data; adapters word it."""

    question: str
    kind: AskKind
    as_of: date
    site: str | None = None
    subject: str | None = None  # the person's name, the period ("this week"), or the words looked for
    person_id: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    occurrences: list[Occurrence] = Field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.kind not in ("no_calendar", "no_match")


def _norm(text: str) -> str:
    return text.lower().replace("’", "'")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _norm(text))


def _find_site(q: str, cal: CalendarData) -> str | None:
    for sid, site in cal.sites.items():
        if re.search(rf"\b{re.escape(sid.lower())}\b", q) or site.name.lower() in q:
            return sid
    return None


def _window(q: str, today: date) -> tuple[date, date, str] | None:
    if "today" in q:
        return today, today, "today"
    if "tomorrow" in q:
        t = today + timedelta(days=1)
        return t, t, "tomorrow"
    m = re.search(
        r"\b(?:next|coming|within|in)\s+(?:the\s+)?(?:next\s+)?(\d+|a|an|one|two|three|four|five|six|ten)"
        r"\s*(day|week|month|year)s?\b",
        q,
    )
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _NUM[m.group(1)]
        unit = m.group(2)
        days = {"day": n, "week": 7 * n, "month": 30 * n, "year": 365 * n}[unit]
        return today, today + timedelta(days=days), f"in the next {n} {unit}{'s' if n != 1 else ''}"
    if "this week" in q:
        end = today + timedelta(days=6 - today.weekday())
        return today, end, "this week"
    if "next week" in q:
        start = today + timedelta(days=7 - today.weekday())
        return start, start + timedelta(days=6), "next week"
    if "this month" in q:
        end = today.replace(day=pycal.monthrange(today.year, today.month)[1])
        return today, end, "this month"
    if "next month" in q:
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return first, first.replace(day=pycal.monthrange(first.year, first.month)[1]), "next month"
    if "this year" in q:
        return today, date(today.year, 12, 31), "this year"
    return None


def _similar(a: str, b: str) -> bool:
    return a == b or (len(a) > 3 and len(b) > 3 and SequenceMatcher(None, a, b).ratio() >= 0.8)


def _score(query: list[str], title: str) -> float:
    words = _tokens(title)
    if not query or not words:
        return 0.0
    hits = sum(1 for q in query if any(_similar(q, w) for w in words))
    return hits / len(query)


@guarded(Action.VIEW_DEADLINES, "calendar.ask")
def ask(
    store: Store,
    question: str,
    *,
    principal: Principal,
    site: str | None = None,
    as_of: date | None = None,
    now: datetime | None = None,
    cal: CalendarData | None = None,
) -> DeadlineAnswer:
    """Answer a deadline question in plain language, without an LLM."""
    if as_of is not None:
        try:
            check_date(as_of, "the date")
        except ValueError as exc:
            raise InvalidInput(str(exc), field="as_of") from None
    cal = cal or load_calendar(store)
    q = _norm(question).strip()
    site = site or _find_site(q, cal)
    today = as_of or site_today(cal.tz(site or cal.default_site()), now)
    base = {"question": question, "as_of": today, "site": site}
    if not cal.obligations and not any(m.credentials for m in cal.staff):
        return DeadlineAnswer(kind="no_calendar", **base)

    # a person's credential: "when does Jane's license expire"
    member = None
    for m in cal.staff:
        names = {m.id.lower(), m.name.lower(), m.name.lower().split()[0]}
        if any(re.search(rf"\b{re.escape(n)}\b", q) for n in names if n):
            member = m
            break
    if member is not None:
        occs = [
            o
            for o in collect(cal, as_of=today, within=3650)
            if o.owner == member.id and o.kind in ("credential", "obligation")
        ]
        wanted = [w for w in _tokens(q) if w in _CRED_WORDS]
        if wanted:
            keys = {k for w in wanted for k in _CRED_WORDS[w]}
            occs = [
                o
                for o in occs
                if any(k in (o.cred_type or o.obligation_id).lower() or k in o.title.lower() for k in keys)
            ]
        return DeadlineAnswer(
            kind="person",
            subject=member.name,
            person_id=member.id,
            occurrences=first_per_series(occs),
            **base,
        )

    if "overdue" in q or "late" in _tokens(q) or "missed" in q:
        occs = [o for o in collect(cal, site=site, as_of=today, within=0) if o.status == "overdue"]
        return DeadlineAnswer(kind="overdue", occurrences=first_per_series(occs), **base)

    window = _window(q, today)
    if window is not None:
        start, end, label = window
        occs = [
            o
            for o in collect(cal, site=site, as_of=today, within=(end - today).days)
            if start <= o.due <= end and o.status != "overdue"
        ]
        return DeadlineAnswer(
            kind="window",
            subject=label,
            window_start=start,
            window_end=end,
            occurrences=first_per_series(occs),
            **base,
        )

    # a named obligation: fuzzy title match
    query = [w for w in _tokens(q) if w not in _STOP]
    occs = collect(cal, site=site, as_of=today, within=3650)
    best: dict[str, float] = {}
    for o in occs:
        key = o.obligation_id
        if key not in best:
            best[key] = max(_score(query, o.title), _score(query, o.obligation_id.replace("-", " ")))
    if best:
        top = max(best.values())
        if top >= MATCH_THRESHOLD:
            winners = {k for k, v in best.items() if v == top}
            hits = first_per_series([o for o in occs if o.obligation_id in winners])
            return DeadlineAnswer(kind="match", subject=" ".join(query), occurrences=hits, **base)
    return DeadlineAnswer(kind="no_match", subject=" ".join(query) or question.strip(), **base)
