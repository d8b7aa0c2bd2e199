"""Code-set checks: ICD-10-CM (official list via simple_icd_10_cm), NPI, DEA number, NDC.

Every function is pure and offline. Checkers return ``None`` when the value is fine and a short
reason otherwise, so callers can build one-line messages that name the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from types import ModuleType


@cache
def _icd10cm() -> ModuleType:
    """The ICD-10-CM code set, loaded on first use: parsing it costs ~2.5 s, which every other
    command (``rxdesk ask``, ``rxdesk ingest`` ...) should not pay at start-up."""
    import simple_icd_10_cm

    return simple_icd_10_cm


@dataclass(frozen=True)
class Icd10:
    code: str  # dotted form, e.g. E11.9
    description: str
    billable: bool  # a leaf of the code tree (the most specific code)


_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


def icd10_lookup(value: str) -> Icd10 | None:
    """The code with its description, or None when it is not in the ICD-10-CM list.

    Accepts codes with or without the dot and in either case (``e119`` -> ``E11.9``). Chapters and
    blocks (``E08-E13``) are not codes and are rejected.
    """
    raw = value.strip().upper()
    if not _ICD_SHAPE.match(raw):
        return None
    cm = _icd10cm()
    try:
        if not cm.is_valid_item(raw) or not (
            cm.is_category_or_subcategory(raw) or cm.is_extended_subcategory(raw)
        ):
            return None
        dotted = cm.add_dot(raw)
        return Icd10(code=dotted, description=cm.get_description(raw), billable=cm.is_leaf(raw))
    except ValueError:
        return None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def npi_problem(value: str) -> str | None:
    """NPI: 10 digits whose check digit passes Luhn over the ``80840`` prefix + the number."""
    v = value.strip()
    if not re.fullmatch(r"\d{10}", v):
        return "an NPI is 10 digits"
    if v[0] not in "12":
        return "an NPI starts with 1 or 2"
    if not _luhn_ok("80840" + v):
        return "NPI check digit does not match"
    return None


def npi_check_digit(first9: str) -> str:
    """The check digit that completes a 9-digit NPI stem (used to build test data)."""
    for d in "0123456789":
        if _luhn_ok("80840" + first9 + d):
            return d
    raise AssertionError("unreachable")


def dea_problem(value: str, prescriber_last_name: str | None = None) -> str | None:
    """DEA registration number: 2 letters + 7 digits; (d1+d3+d5) + 2*(d2+d4+d6) ends in d7."""
    v = value.strip().upper()
    if not re.fullmatch(r"[A-Z][A-Z9]\d{7}", v):
        return "a DEA number is 2 letters followed by 7 digits"
    d = [int(c) for c in v[2:]]
    check = (d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])
    if check % 10 != d[6]:
        return "DEA check digit does not match"
    return None


def dea_warning(value: str, prescriber_last_name: str | None) -> str | None:
    """The second letter is usually the registrant's last initial ('9' for some business names)."""
    v = value.strip().upper()
    if not prescriber_last_name or len(v) < 2 or v[1] == "9":
        return None
    last = prescriber_last_name.strip().split()[-1][:1].upper()
    if last and last.isalpha() and v[1] != last:
        return "second letter of the DEA number does not match the prescriber's last initial"
    return None


_NDC_LAYOUTS = {
    (4, 4, 2): lambda a, b, c: "0" + a + b + c,
    (5, 3, 2): lambda a, b, c: a + "0" + b + c,
    (5, 4, 1): lambda a, b, c: a + b + "0" + c,
    (5, 4, 2): lambda a, b, c: a + b + c,
}


def ndc_to_11(value: str) -> str | None:
    """Normalize an NDC to 11 digits (5-4-2, hyphenated ``NNNNN-NNNN-NN``), or None if unusable.

    Accepts the hyphenated 10-digit layouts 4-4-2, 5-3-2 and 5-4-1, an already 11-digit 5-4-2, and a
    plain 11-digit string. A plain 10-digit string is ambiguous (we cannot tell where the zero goes)
    and is rejected.
    """
    v = value.strip()
    parts = v.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        fn = _NDC_LAYOUTS.get(tuple(len(p) for p in parts))  # type: ignore[arg-type]
        if fn is None:
            return None
        digits = fn(*parts)
    elif re.fullmatch(r"\d{11}", v):
        digits = v
    else:
        return None
    return f"{digits[:5]}-{digits[5:9]}-{digits[9:]}"


def ndc_problem(value: str) -> str | None:
    if ndc_to_11(value) is not None:
        return None
    if re.fullmatch(r"\d{10}", value.strip()):
        return "a 10-digit NDC needs its hyphens (4-4-2, 5-3-2 or 5-4-1) to be normalized"
    return "expected an NDC as 4-4-2, 5-3-2, 5-4-1 or 5-4-2 with hyphens, or 11 digits"
