"""Plain-language deadline questions (no LLM)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.calendar.ask import ask as _ask
from assistant.cli.render import deadline_answer_text
from assistant.principal import SCHEDULER
from assistant.store import Store

AS_OF = date(2027, 1, 2)


def ask(store: Store, question: str, **kw):  # type: ignore[no-untyped-def]
    return _ask(store, question, principal=SCHEDULER, **kw)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "when is our DEA registration due?",
            "DEA registration renewal at main is due 2027-05-31 (in 149 days)",
        ),
        ("When is the DEA registraton due at west?", "at west is due 2027-05-31"),  # typo, site
        ("biennial inventory?", "Controlled substance biennial inventory at main was due 2026-03-01"),
        (
            "when does Jane's license expire",
            "Jane Doe's Pharmacist license expires on 2027-03-31 (in 88 days)",
        ),
        ("when does jdoe's BLS expire?", "Jane Doe's BLS expired on 2026-12-15 (18 days ago)"),
        ("what's overdue at main", "Overdue at main as of 2027-01-02"),
        ("what's due in the next 2 weeks", "Due in the next 2 weeks (2027-01-02 to 2027-01-16)"),
        ("what's due this month", "Due this month (2027-01-02 to 2027-01-31)"),
        ("anything due next month?", "Due next month (2027-02-01 to 2027-02-28)"),
        ("what is due today", "Nothing is due today"),
        ("when is the unicorn parade?", "I couldn't find a deadline matching 'unicorn parade'"),
    ],
)
def test_questions(cal_store: Store, question: str, expected: str):
    a = ask(cal_store, question, as_of=AS_OF)
    text = deadline_answer_text(a)
    assert expected in text, text


def test_lists_carry_occurrences_and_skip_repeats(cal_store: Store):
    a = ask(cal_store, "what's due in the next 2 weeks at main", as_of=AS_OF)
    ids = [o.id for o in a.occurrences]
    assert "form-106-loss@main@2027-01-04" in ids
    assert "Form 106" in deadline_answer_text(a) and "west" not in ids
    overdue = ask(cal_store, "what's overdue at main", as_of=AS_OF)
    assert "biennial-inventory@main@2026-03-01" in [o.id for o in overdue.occurrences]
    assert all(o.site == "main" for o in overdue.occurrences)


def test_nothing_imported(store: Store):
    answer = ask(store, "what's due this month")
    assert answer.kind == "no_calendar" and not answer.found
    assert "no deadlines yet" in deadline_answer_text(answer)
