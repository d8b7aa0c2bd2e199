"""The case record every draft is built from.

All fields are optional so a partial case (typed by a technician, extracted from shorthand, or later
produced by an LLM) still loads; each document kind declares which facts it requires and shows the
rest as ``[MISSING: ...]`` placeholders. Unknown fields are refused so a typo never silently drops
a fact. Identifiers (NPI, BIN, member ID, NDC...) are text: an unquoted ``003858`` in YAML would lose
its leading zeros, so numbers there are refused with a hint to quote them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from assistant.errors import InvalidInput


def _num_to_text(v: object) -> object:
    """Measured values may be written as numbers (``8.7``); keep them exactly as written."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return repr(v) if isinstance(v, float) else str(v)
    return v


Measure = Annotated[str, BeforeValidator(_num_to_text)]

DTP_CATEGORIES = (
    "unnecessary drug therapy",
    "needs additional drug therapy",
    "ineffective drug",
    "dosage too low",
    "adverse drug reaction",
    "dosage too high",
    "nonadherence",
)


def _dtp_category(v: object) -> object:
    """Accept the category by number (1-7) or name, in any case; 'adherence' means nonadherence."""
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 7:
        return DTP_CATEGORIES[v - 1]
    if isinstance(v, str):
        s = " ".join(v.strip().lower().replace("-", " ").split())
        if s.isdigit() and 1 <= int(s) <= 7:
            return DTP_CATEGORIES[int(s) - 1]
        aliases = {
            "adherence": "nonadherence",
            "non adherence": "nonadherence",
            "adr": "adverse drug reaction",
        }
        return aliases.get(s, s)
    return v


DtpCategory = Annotated[
    Literal[
        "unnecessary drug therapy",
        "needs additional drug therapy",
        "ineffective drug",
        "dosage too low",
        "adverse drug reaction",
        "dosage too high",
        "nonadherence",
    ],
    BeforeValidator(_dtp_category),
]


def _alias(choices: dict[str, str]):  # type: ignore[no-untyped-def]
    """A before-validator that maps spelling variants onto one canonical value (case-insensitive)."""

    def norm(v: object) -> object:
        if isinstance(v, str):
            key = " ".join(v.strip().lower().replace("_", " ").replace("-", " ").split())
            return choices.get(key, key)
        return v

    return BeforeValidator(norm)


MODALITIES = ("in person", "telephone", "video")
Modality = Annotated[
    Literal["in person", "telephone", "video"],
    _alias(
        {
            "face to face": "in person",
            "f2f": "in person",
            "in person": "in person",
            "inperson": "in person",
            "in office": "in person",
            "phone": "telephone",
            "telephonic": "telephone",
            "audio only": "telephone",
            "audio": "telephone",
            "tele": "telephone",
            "video visit": "video",
            "telehealth video": "video",
            "telehealth": "video",
            "virtual": "video",
        }
    ),
]

PlanType = Annotated[
    Literal["part d", "medicaid", "commercial", "other"],
    _alias(
        {
            "medicare part d": "part d",
            "partd": "part d",
            "pdp": "part d",
            "ma pd": "part d",
            "mapd": "part d",
            "medicare": "part d",
            "medicare advantage": "part d",
            "employer": "commercial",
            "private": "commercial",
        }
    ),
]

RequestType = Annotated[
    Literal["prior authorization", "formulary", "step therapy", "quantity limit", "tiering"],
    _alias(
        {
            "none": "prior authorization",
            "pa": "prior authorization",
            "prior auth": "prior authorization",
            "non formulary": "formulary",
            "formulary exception": "formulary",
            "step": "step therapy",
            "step edit": "step therapy",
            "step therapy exception": "step therapy",
            "ql": "quantity limit",
            "quantity": "quantity limit",
            "quantity limit exception": "quantity limit",
            "tier": "tiering",
            "tier exception": "tiering",
            "tiering exception": "tiering",
        }
    ),
]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Allergy(_M):
    substance: str | None = None
    reaction: str | None = None


class Patient(_M):
    name: str | None = None
    dob: dt.date | None = None
    sex: str | None = None
    phone: str | None = None
    address: str | None = None
    allergies: list[Allergy] = Field(default_factory=list)
    no_known_allergies: bool | None = Field(default=None, description="Explicitly recorded NKDA.")


class Insurance(_M):
    plan: str | None = None
    member_id: str | None = None
    person_code: str | None = None
    bin: str | None = None
    pcn: str | None = None
    group: str | None = None
    plan_type: PlanType | None = Field(
        default=None,
        description="part d, medicaid, commercial or other: decides the appeal deadline rule.",
    )


class Prescriber(_M):
    name: str | None = None
    npi: str | None = None
    dea: str | None = None
    phone: str | None = None
    fax: str | None = None
    specialty: str | None = None
    address: str | None = None


class Pharmacist(_M):
    name: str | None = None
    credentials: str | None = None
    npi: str | None = None
    phone: str | None = None


class Pharmacy(_M):
    name: str | None = None
    npi: str | None = None
    ncpdp: str | None = None
    phone: str | None = None
    fax: str | None = None
    tty: str | None = None
    hours: str | None = None
    address: str | None = None


class Condition(_M):
    name: str | None = None
    icd10: str | None = None


class Medication(_M):
    name: str | None = None
    strength: str | None = None
    sig: str | None = None
    indication: str | None = None
    prescriber: str | None = None
    start_date: dt.date | None = None
    stop_date: dt.date | None = None
    stop_reason: str | None = None
    otc: bool = False


class Measurement(_M):
    name: str | None = None
    value: Measure | None = None
    unit: str | None = None
    date: dt.date | None = None


class Encounter(_M):
    date: dt.date | None = None
    type: Literal["CMR", "TMR", "follow-up"] | None = None
    modality: Modality | None = Field(default=None, description="in person, telephone or video")
    minutes: int | None = Field(
        default=None, ge=0, le=600, description="Minutes with the patient, in the recorded modality."
    )
    new_patient: bool | None = None
    recipient: str | None = Field(default=None, description="Patient, or the caregiver who took part.")
    program: str | None = Field(default=None, description="Part D plan / MTM program name.")
    sources: list[str] = Field(default_factory=list, description="Where the med list came from.")
    subjective: str | None = Field(default=None, description="What the patient reported.")
    goals: list[str] = Field(default_factory=list)
    monitoring: list[str] = Field(default_factory=list)
    follow_up_date: dt.date | None = None
    follow_up_plan: str | None = None


class Problem(_M):
    category: DtpCategory | None = None
    drug: str | None = None
    condition: str | None = None
    description: str | None = None
    cause: str | None = None
    evidence: str | None = None
    severity: str | None = None
    recommendation: str | None = None
    monitoring: str | None = None
    patient_action: str | None = None


class PriorTherapy(_M):
    drug: str | None = None
    dose: str | None = None
    duration: str | None = Field(default=None, description="As stated, e.g. 'x6mo', when dates are unknown.")
    start: dt.date | None = None
    stop: dt.date | None = None
    ongoing: bool = Field(default=False, description="Still taking it (no stop date expected).")
    outcome: str | None = None


class DenialReason(_M):
    reason: str | None = None
    response: str | None = Field(default=None, description="The answer to this reason, with evidence.")


class Denial(_M):
    date: dt.date | None = Field(default=None, description="The date printed on the denial notice.")
    received_date: dt.date | None = Field(
        default=None,
        description="When the notice was actually received, if known (Part D presumes 5 days after its date).",
    )
    appeal_deadline: dt.date | None = Field(
        default=None, description="The appeal deadline the notice states (used when the plan is not Part D)."
    )
    good_cause: str | None = Field(
        default=None, description="Why a late appeal was not filed in time, in the requester's words."
    )
    case_number: str | None = None
    reason: str | None = Field(default=None, description="A single denial reason (shorthand).")
    reasons: list[DenialReason] = Field(default_factory=list)

    def all_reasons(self) -> list[DenialReason]:
        out = list(self.reasons)
        if self.reason:
            out.insert(0, DenialReason(reason=self.reason))
        return out


class Request(_M):
    drug: str | None = None
    strength: str | None = None
    form: str | None = None
    route: str | None = Field(
        default=None, description="Route of administration, e.g. by mouth, subcutaneous."
    )
    sig: str | None = None
    ndc: str | None = None
    quantity: Measure | None = None
    days_supply: int | None = Field(default=None, gt=0, le=366)
    diagnosis_icd10: str | None = None
    new_start: bool | None = None
    start_date: dt.date | None = Field(
        default=None, description="When the patient started it (continuation)."
    )
    length_of_therapy: str | None = Field(default=None, description="Expected length of therapy, as stated.")
    weight_based_dosing: bool | None = Field(
        default=None, description="Dosing depends on height/weight (then both are needed from vitals)."
    )
    controlled_schedule: str | None = Field(
        default=None,
        description="DEA schedule (CII-CV) or 'none'; the drug list is used when this is not given.",
    )
    exception_type: RequestType | None = Field(
        default=None,
        description="prior authorization, formulary, step therapy, quantity limit or tiering",
    )
    prior_therapies: list[PriorTherapy] = Field(default_factory=list)
    urgency: Literal["standard", "expedited"] | None = None
    expedited_reason: str | None = Field(
        default=None,
        description="The prescriber's own reason why the standard timeframe could seriously harm the patient.",
    )
    contraindications: str | None = Field(
        default=None, description="FDA-noted contraindications to the drug for this patient, or 'none'."
    )
    interaction_concerns: str | None = Field(
        default=None, description="Interaction concerns with the current regimen, or 'none'."
    )
    rationale: str | None = None
    alternatives_unsuitable: str | None = None
    risk_if_denied: str | None = None
    denial: Denial | None = None


class Letter(_M):
    """Prescriber correspondence details (SBAR fax)."""

    urgency: str | None = None
    respond_by: dt.date | None = None


class Case(_M):
    patient: Patient = Field(default_factory=Patient)
    insurance: Insurance = Field(default_factory=Insurance)
    prescriber: Prescriber = Field(default_factory=Prescriber)
    pharmacist: Pharmacist = Field(default_factory=Pharmacist)
    pharmacy: Pharmacy = Field(default_factory=Pharmacy)
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    labs: list[Measurement] = Field(default_factory=list)
    vitals: list[Measurement] = Field(default_factory=list)
    encounter: Encounter = Field(default_factory=Encounter)
    problems: list[Problem] = Field(default_factory=list)
    request: Request = Field(default_factory=Request)
    letter: Letter = Field(default_factory=Letter)
    prepared_date: dt.date | None = Field(
        default=None, description="DATE PREPARED on the document; defaults to the day the draft is made."
    )
    intake_warnings: list[str] = Field(
        default_factory=list,
        description="What the shorthand reader did not understand or wants confirmed (shown as warnings).",
    )

    def is_empty(self) -> bool:
        """True when the case says nothing a document could be drafted from (blank text, empty
        lists and sections of blanks count as nothing)."""
        return not _says_something(self.model_dump(exclude_defaults=True, exclude={"prepared_date"}))


def _says_something(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(_says_something(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_says_something(v) for v in value)
    return value is not None and value is not False


# ---- loading -------------------------------------------------------------------------------------


def loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind.startswith("date_") or kind == "date_type":
        return "invalid date (use YYYY-MM-DD)"
    if kind == "string_type":
        return "expected text (quote numbers such as IDs so leading zeros are kept)"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        return err["msg"].replace("Input should be", "expected")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a mapping of fields"
    if kind == "list_type":
        return "expected a list"
    return err["msg"][0].lower() + err["msg"][1:]


def validation_error(exc: ValidationError, where: str) -> InvalidInput:
    err = exc.errors()[0]
    # drop the function-wrapper segments pydantic adds for annotated validators
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    more = len(exc.errors()) - 1
    tail = f" (+{more} more)" if more else ""
    return InvalidInput(f"{where}: field '{loc_to_path(loc)}': {_message(err)}{tail}")


def parse_case(data: object, where: str = "case") -> Case:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected a mapping of case sections at the top level")
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from None


MAX_CASE_BYTES = 1 << 20  # a case record is a few KB; anything near this is not a case


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = next((k for k in keys if keys.count(k) > 1), None)
    if twice is not None:
        raise InvalidInput(f"duplicate key '{twice}'")
    return dict(pairs)


def load_case(path: Path) -> Case:
    """Load a case from a ``.json``, ``.yaml`` or ``.yml`` file; one-line errors name the field.

    Strict: a key written twice, a file that is not UTF-8 or larger than 1 MB is refused (it used
    to keep the last value silently, or end in a traceback), and dates stay text for the model to
    check against their field (an unquoted ``dob: 2026-02-30`` is an invalid date, not a crash)."""
    from assistant import strict_yaml
    from assistant.files import read_input_text

    text = read_input_text(path, what="case file", max_bytes=MAX_CASE_BYTES)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
        except InvalidInput as exc:
            raise InvalidInput(f"{path.name}: {exc.message}") from None
        except RecursionError:
            raise InvalidInput(f"{path.name}: nested too deeply") from None
    else:
        data = strict_yaml.load(text, path.name)
    return parse_case(data, path.name)


def case_json_schema() -> dict[str, Any]:
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rxdesk case record"
    return schema
