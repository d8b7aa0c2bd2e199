"""Property: every number-like token (dose, lab value, date, code, identifier) in any draft comes
from the case, from the fixed template text, or from a documented derivation of case facts (dates
reformatted, NDC normalized, ICD-10 descriptions, the CPT suggestion computed from minutes, the
appeal deadline computed from the notice date). The same holds for shorthand: every drug, strength
and dose the reader puts in a case is written in the text, every drug word in the text reaches the
case or an "not understood" echo, and drafts made from it invent nothing either."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.drafting import clocks, codes
from assistant.drafting.case import Case
from assistant.drafting.extract import extract_case
from assistant.drafting.kinds import KINDS
from assistant.drafting.kinds.base import fmt_date
from assistant.drafting.kinds.mtm_note import suggest_cpt
from assistant.drafting.pipeline import compose, draft_markdown
from assistant.drafting.vocabulary import curated

TODAY = dt.date(2026, 11, 26)
TOKEN = re.compile(r"\d+(?:[.,/:\-]\d+)*")
MAX_ITEMS = 3

alpha = st.text(alphabet="bcdfghjkmnpqrstvwxz", min_size=2, max_size=6)
number = st.from_regex(r"\A\d{1,6}([./\-]\d{1,4})?\Z", fullmatch=True)
word = st.one_of(alpha, number)
phrase = st.lists(word, min_size=1, max_size=4).map(" ".join)
opt = st.one_of(st.none(), phrase)
dates = st.one_of(st.none(), st.dates(dt.date(1930, 1, 1), dt.date(2026, 11, 1)))
icd = st.one_of(st.none(), st.sampled_from(["E11.9", "I10", "E78.5", "E11", "J45.909", "N18.30"]), number)
ndc = st.one_of(st.none(), st.sampled_from(["0169-4132-12", "12345-678-90", "12345-6789-1"]), number)


def items(fields: dict[str, Any]) -> st.SearchStrategy:
    return st.lists(st.fixed_dictionaries({}, optional=fields), max_size=MAX_ITEMS)


case_dicts = st.fixed_dictionaries(
    {},
    optional={
        "patient": st.fixed_dictionaries(
            {},
            optional={
                "name": opt,
                "dob": dates,
                "sex": opt,
                "phone": opt,
                "address": opt,
                "allergies": items({"substance": opt, "reaction": opt}),
                "no_known_allergies": st.booleans(),
            },
        ),
        "insurance": st.fixed_dictionaries(
            {},
            optional={k: opt for k in ("plan", "member_id", "person_code", "bin", "pcn", "group")}
            | {"plan_type": st.sampled_from(["part d", "medicaid", "commercial", "other"])},
        ),
        "prescriber": st.fixed_dictionaries(
            {}, optional={k: opt for k in ("name", "npi", "dea", "phone", "fax", "specialty", "address")}
        ),
        "pharmacist": st.fixed_dictionaries(
            {}, optional={k: opt for k in ("name", "credentials", "npi", "phone")}
        ),
        "pharmacy": st.fixed_dictionaries(
            {}, optional={k: opt for k in ("name", "npi", "ncpdp", "phone", "fax", "tty", "hours")}
        ),
        "conditions": items({"name": opt, "icd10": icd}),
        "medications": items(
            {
                "name": opt,
                "strength": opt,
                "sig": opt,
                "indication": opt,
                "prescriber": opt,
                "start_date": dates,
                "stop_date": dates,
                "stop_reason": opt,
                "otc": st.booleans(),
            }
        ),
        "labs": items({"name": opt, "value": opt, "unit": st.one_of(opt, st.just("%")), "date": dates}),
        "vitals": items({"name": opt, "value": opt, "unit": opt, "date": dates}),
        "encounter": st.fixed_dictionaries(
            {},
            optional={
                "date": dates,
                "type": st.sampled_from(["CMR", "TMR", "follow-up"]),
                "modality": st.sampled_from(["in person", "telephone", "video"]),
                "minutes": st.integers(0, 200),
                "new_patient": st.booleans(),
                "program": opt,
                "sources": st.lists(phrase, max_size=2),
                "subjective": opt,
                "goals": st.lists(phrase, max_size=2),
                "monitoring": st.lists(phrase, max_size=2),
                "follow_up_date": dates,
                "follow_up_plan": opt,
            },
        ),
        "problems": items(
            {
                k: opt
                for k in (
                    "drug",
                    "condition",
                    "description",
                    "cause",
                    "evidence",
                    "severity",
                    "recommendation",
                    "monitoring",
                    "patient_action",
                )
            }
            | {"category": st.integers(1, 7)}
        ),
        "request": st.fixed_dictionaries(
            {},
            optional={
                **{
                    k: opt
                    for k in (
                        "drug",
                        "strength",
                        "form",
                        "route",
                        "sig",
                        "quantity",
                        "length_of_therapy",
                        "controlled_schedule",
                        "expedited_reason",
                        "contraindications",
                        "interaction_concerns",
                        "rationale",
                        "alternatives_unsuitable",
                        "risk_if_denied",
                    )
                },
                "new_start": st.booleans(),
                "start_date": dates,
                "weight_based_dosing": st.booleans(),
                "exception_type": st.sampled_from(["prior authorization", "step therapy", "tiering"]),
                "ndc": ndc,
                "days_supply": st.integers(1, 366),
                "diagnosis_icd10": icd,
                "urgency": st.sampled_from(["standard", "expedited"]),
                "prior_therapies": items(
                    {
                        "drug": opt,
                        "dose": opt,
                        "start": dates,
                        "stop": dates,
                        "outcome": opt,
                        "ongoing": st.booleans(),
                    }
                ),
                "denial": st.fixed_dictionaries(
                    {},
                    optional={
                        "date": dates,
                        "received_date": dates,
                        "appeal_deadline": dates,
                        "good_cause": opt,
                        "case_number": opt,
                        "reason": opt,
                        "reasons": items({"reason": opt, "response": opt}),
                    },
                ),
            },
        ),
        "letter": st.fixed_dictionaries({}, optional={"urgency": opt, "respond_by": dates}),
        "prepared_date": dates,
    },
)


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return [str(obj)] if obj is not None else []


def _all_dates(obj: Any) -> list[dt.date]:
    if isinstance(obj, dt.date):
        return [obj]
    if isinstance(obj, dict):
        return [d for v in obj.values() for d in _all_dates(v)]
    if isinstance(obj, list):
        return [d for v in obj for d in _all_dates(v)]
    return []


def _template_tokens() -> set[str]:
    out: set[str] = set()
    for kind in KINDS:
        out |= set(TOKEN.findall(draft_markdown(compose(kind, Case(), today=TODAY))))
    return out


TEMPLATE = _template_tokens()
COUNTERS = {str(i) for i in range(1, MAX_ITEMS + 2)}  # "Problem 2", "topic 3", "(1)" ...
CONDITIONAL_TEMPLATE = {
    "11",  # the "(NDC-11)" label, shown only next to a case NDC
    "99605-99607",  # named when no face-to-face code applies (telephone)
    "65",  # the CMS form's question for patients over 65
    # Part D clocks and their citations (assistant/drafting/clocks.py), shown for Part D plans only
    "42",
    "423.568",
    "423.572",
    "423.582",
    "423.590",
    "24",
    "72",
    "60",
    "7",
}


def allowed_tokens(case: Case) -> set[str]:
    raw = case.model_dump(mode="python")
    texts = _strings(case.model_dump(mode="json"))
    texts += [fmt_date(d) for d in _all_dates(raw)] + [fmt_date(TODAY)]
    for c in [x.icd10 for x in case.conditions] + [case.request.diagnosis_icd10]:
        hit = codes.icd10_lookup(c) if c else None
        if hit:
            texts += [hit.code, hit.description]
    if case.request.ndc and codes.ndc_to_11(case.request.ndc):
        texts.append(codes.ndc_to_11(case.request.ndc) or "")
    cpt = suggest_cpt(case.encounter.minutes, case.encounter.new_patient, case.encounter.modality)
    if cpt:
        texts.append(cpt.text())
    d = case.request.denial
    for as_of in {TODAY, case.prepared_date or TODAY}:
        clock = d and clocks.appeal_clock(
            plan_type=case.insurance.plan_type,
            notice_date=d.date,
            received_date=d.received_date,
            stated_deadline=d.appeal_deadline,
            as_of=as_of,
        )
        if clock:  # the deadline and presumed receipt are derived from the notice date
            texts += [fmt_date(clock.deadline), fmt_date(clock.received)]
    found = {t for s in texts for t in TOKEN.findall(s)}
    return found | TEMPLATE | COUNTERS | CONDITIONAL_TEMPLATE


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts)
def test_no_draft_contains_a_fact_that_is_not_in_the_case(data: dict) -> None:
    case = Case.model_validate(data)
    allowed = allowed_tokens(case)
    case_text = " ".join(_strings(case.model_dump(mode="json"))).lower()
    for kind in KINDS:
        text = draft_markdown(compose(kind, case, today=TODAY), notes=False)
        invented = set(TOKEN.findall(text)) - allowed
        assert not invented, f"{kind}: tokens not from the case: {sorted(invented)}"
        low = text.lower()
        for entry in curated():
            for name in entry.names:
                if len(name) >= 5 and name not in case_text:
                    assert not re.search(rf"\b{re.escape(name)}\b", low), f"{kind}: drug '{name}' invented"


def test_template_text_names_no_drug_and_no_identifier() -> None:
    """The fixed template text itself carries no drug names, 10-digit identifiers or NDCs."""
    blob = " ".join(draft_markdown(compose(k, Case(), today=TODAY)) for k in KINDS).lower()
    for entry in curated():
        for name in entry.names:
            if len(name) >= 5:
                assert not re.search(rf"\b{re.escape(name)}\b", blob), name
    assert not re.search(r"\d{10}|\d{4,5}-\d{3,4}-\d{1,2}", blob)


# ---- shorthand ----------------------------------------------------------------------------------

KNOWN_DRUGS = [
    "metformin",
    "metformin ER",
    "Humalog Mix 75/25",
    "Humalog",
    "Synthroid",
    "levothyroxine",
    "ASA",
    "Toprol",
    "Toprol XL",
    "metoprolol",
    "Ozempic",
    "Lantus",
    "Tylenol",
    "lisinopril",
    "Eliquis",
    "atorvastatin",
    "vitamin D3",
]
MISSPELLED = ["ozempik", "metforman", "lisinoprill", "atorvastatinn", "synthroyd"]
dose_text = st.tuples(
    st.one_of(st.just(""), st.from_regex(r"\A\d{1,4}(\.\d{1,2})?\Z", fullmatch=True)),
    st.sampled_from(["", " mg", " mcg", " units", "mg"]),
    st.sampled_from(["", " bid", " daily", " weekly", " qhs", " prn"]),
).map(lambda t: (" " + t[0] + (t[1] if t[0] else "") + t[2]).rstrip() if (t[0] or t[2]) else "")
drug_clause = st.tuples(
    st.sampled_from(["", "failed ", "still on ", "PA for "]),
    st.one_of(st.sampled_from(KNOWN_DRUGS), st.sampled_from(MISSPELLED)),
    dose_text,
).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
other_clause = st.sampled_from(
    ["T2DM", "HTN", "A1c 8.7% on 10/2", "A1c 9.1 on 10/2/26", "LDL 130 mg/dL 9/14/26", "Mrs. Lee", "urgent"]
)
shorthand = st.lists(st.one_of(drug_clause, drug_clause, other_clause), min_size=1, max_size=6).map(", ".join)


def _drug_fields(case: Case) -> list[str]:
    r = case.request
    out = [x for m in case.medications for x in (m.name, m.strength, m.sig)]
    out += [x for t in r.prior_therapies for x in (t.drug, t.dose, t.duration)]
    out += [r.drug, r.strength, r.sig]
    return [x for x in out if x]


def _written(name: str) -> str:
    """A drug name without the generic annotation the reader may add in brackets."""
    return re.sub(r"\s*\([^)]*\)$", "", name)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shorthand)
def test_shorthand_keeps_the_persons_words_and_loses_nothing(text: str) -> None:
    case = extract_case(text, today=TODAY)
    low = text.lower()
    # every drug, strength and dose in the case is written in the text (a generic only in brackets)
    for value in _drug_fields(case):
        assert _written(value).lower() in low, f"{value!r} is not in {text!r}"
        for token in TOKEN.findall(value):
            assert token in text, f"{token!r} invented from {text!r}"
    generics = {e.generic for e in curated()}
    for value in _drug_fields(case):
        if m := re.search(r"\(([^)]*)\)$", value):
            assert m.group(1) in generics, f"annotation {m.group(1)!r} is not a curated US generic"
    # every drug word reaches the case, or is echoed back as not understood
    placed = " ".join(_written(x) for x in _drug_fields(case)).lower()
    echoed = " ".join(case.intake_warnings).lower()
    for name in KNOWN_DRUGS + MISSPELLED:
        if re.search(rf"(?<![\w/]){re.escape(name.lower())}(?![\w/])", low):
            assert name.lower() in placed or name.lower() in echoed, f"{name!r} lost from {text!r}"
    for name in MISSPELLED:
        if re.search(rf"\b{name}\b", low):
            assert f"not understood: {name}" in echoed, f"{name!r} not echoed: {case.intake_warnings}"
    # the PA's requested drug is not a current medication unless the text says the patient takes it
    if case.request.drug and "still on" not in low:
        written = _written(case.request.drug).lower()
        assert low.count(written) > 1 or all(
            _written(m.name or "").lower() != written for m in case.medications
        )
    # and no draft made from it invents a fact
    allowed = allowed_tokens(case)
    for kind in KINDS:
        out = draft_markdown(compose(kind, case, today=TODAY), notes=False)
        invented = set(TOKEN.findall(out)) - allowed
        assert not invented, f"{kind}: tokens not from {text!r}: {sorted(invented)}"
