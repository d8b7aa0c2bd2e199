"""The delegation matrix: who may do what. Every entry point asks this module.

Rules follow common US practice (see the pharmacy reference, "Delegation"): technicians handle
intake, scheduling, records gathering, PA initiation and non-clinical fields, and may prepare PML/MAP
drafts; clinical assessment, care plans, counselling and recommendations to prescribers are
pharmacist-only, and only a pharmacist can approve a draft. Admins run the system (staff directory,
calendar) but make no clinical decisions.
"""

from __future__ import annotations

from enum import StrEnum

from assistant.errors import InvalidInput, PermissionDenied


class Role(StrEnum):
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class Action(StrEnum):
    ASK_SOP = "ask_sop"
    ASK_CLINICAL = "ask_clinical"  # a clinical-judgment question answered by the assistant
    DRAFT_PA = "draft_pa"  # PA packet / appeal drafts (technician initiates, pharmacist reviews)
    DRAFT_CMR = "draft_cmr"  # CMR written summary (MAP/PML): technician may prepare a draft
    DRAFT_CLINICAL = "draft_clinical"  # SOAP note, prescriber recommendation letters
    VIEW_DRAFT = "view_draft"
    EDIT_DRAFT = "edit_draft"
    APPROVE_DRAFT = "approve_draft"
    REQUEST_CHANGES = "request_changes"
    DISCARD_DRAFT = "discard_draft"
    EXPORT_DRAFT = "export_draft"
    VIEW_DEADLINES = "view_deadlines"
    COMPLETE_OBLIGATION = "complete_obligation"
    MANAGE_CALENDAR = "manage_calendar"
    TRACK_PA = "track_pa"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT = "view_audit"


_EVERYONE = frozenset(Role)
_PHARMACIST = frozenset({Role.PHARMACIST})

MATRIX: dict[Action, frozenset[Role]] = {
    Action.ASK_SOP: _EVERYONE,
    Action.ASK_CLINICAL: _PHARMACIST,
    Action.DRAFT_PA: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.DRAFT_CMR: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.DRAFT_CLINICAL: _PHARMACIST,
    Action.VIEW_DRAFT: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.EDIT_DRAFT: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.APPROVE_DRAFT: _PHARMACIST,
    Action.REQUEST_CHANGES: _PHARMACIST,
    Action.DISCARD_DRAFT: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.EXPORT_DRAFT: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.VIEW_DEADLINES: _EVERYONE,
    Action.COMPLETE_OBLIGATION: _EVERYONE,
    Action.MANAGE_CALENDAR: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Action.TRACK_PA: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.MANAGE_STAFF: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Action.VIEW_AUDIT: frozenset({Role.PHARMACIST, Role.ADMIN}),
}

_WHY: dict[Action, str] = {
    Action.ASK_CLINICAL: "clinical judgment questions go to the pharmacist on duty",
    Action.DRAFT_CLINICAL: "clinical assessments and prescriber recommendations are pharmacist-only",
    Action.APPROVE_DRAFT: "only a pharmacist can approve a draft",
    Action.REQUEST_CHANGES: "only a pharmacist reviews drafts",
}


def can(role: Role | str, action: Action) -> bool:
    try:
        role = Role(role)
    except ValueError:
        return False
    return role in MATRIX[action]


def require(role: Role | str, action: Action, *, who: str = "this user") -> None:
    """Raise :class:`PermissionDenied` with a one-line reason unless ``role`` may do ``action``."""
    if can(role, action):
        return
    why = _WHY.get(action, f"the {role} role may not {action.value.replace('_', ' ')}")
    raise PermissionDenied(f"{who} ({role}) may not {action.value.replace('_', ' ')}: {why}")


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role '{value}' (expected one of: {allowed})") from None
