"""The delegation matrix: who may do what. Every service asks this module (through ``access``).

Rules follow common US practice (see the pharmacy reference, "Delegation"): technicians handle
intake, scheduling, records gathering, PA initiation and non-clinical fields, and may prepare PML/MAP
drafts; clinical assessment, care plans, counselling and recommendations to prescribers are
pharmacist-only, and only a pharmacist can approve a draft. Admins run the system (staff directory,
calendar, SOP manual) but make no clinical decisions.

Besides staff roles there are three *system* roles, never held by a person in the staff directory:

- ``operator``: whoever runs the local CLI without naming themselves. Runs the installation (ingest
  SOPs, import the calendar and the staff directory, list deadlines, ask SOP questions) and nothing
  that needs a person on record: no drafts, no approvals, no PHI, no clinical answers, no audit log.
- ``scheduler``: background jobs (the daily digest). Reads deadlines and records the digest's
  delivery, nothing else.
- ``guest``: a Slack user who is not in the staff directory. SOP questions only.
"""

from __future__ import annotations

from enum import StrEnum

from assistant.errors import InvalidInput


class Role(StrEnum):
    """Roles a staff member can hold (the staff directory accepts only these)."""

    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class SystemRole(StrEnum):
    """Roles of the explicit system principals (see :mod:`assistant.principal`)."""

    OPERATOR = "operator"
    SCHEDULER = "scheduler"
    GUEST = "guest"


AnyRole = Role | SystemRole


class Action(StrEnum):
    ASK_SOP = "ask_sop"
    ASK_CLINICAL = "ask_clinical"  # a clinical-judgment question answered by the assistant
    INGEST_SOPS = "ingest_sops"  # change the SOP manual the answers come from
    DRAFT_PA = "draft_pa"  # PA packet / appeal drafts (technician initiates, pharmacist reviews)
    DRAFT_CMR = "draft_cmr"  # CMR written summary (MAP/PML): technician may prepare a draft
    DRAFT_CLINICAL = "draft_clinical"  # SOAP note, prescriber recommendation letters
    VIEW_DRAFT = "view_draft"  # a draft's content and case (PHI)
    LIST_DRAFTS = "list_drafts"  # the queue: kind, status, counts, patient token (no PHI)
    EDIT_DRAFT = "edit_draft"
    APPROVE_DRAFT = "approve_draft"
    REQUEST_CHANGES = "request_changes"
    DISCARD_DRAFT = "discard_draft"
    EXPORT_DRAFT = "export_draft"
    VIEW_DEADLINES = "view_deadlines"
    DELIVER_DIGEST = "deliver_digest"  # claim and record the daily digest's post (background job)
    COMPLETE_OBLIGATION = "complete_obligation"  # one's own deadlines and the site's
    COMPLETE_FOR_OTHERS = "complete_for_others"  # another person's credential or personal obligation
    MANAGE_CALENDAR = "manage_calendar"
    TRACK_PA = "track_pa"
    VIEW_STAFF = "view_staff"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT = "view_audit"
    VERIFY_RECORDS = "verify_records"  # check the tamper-evident chain (shows no PHI)
    APPROVE_SOP = "approve_sop"  # let a new or changed SOP be used for answers


_STAFF = frozenset(Role)
_CLINICAL_STAFF = frozenset({Role.PHARMACIST, Role.TECHNICIAN})
_PHARMACIST = frozenset({Role.PHARMACIST})
_OPERATOR = frozenset({SystemRole.OPERATOR})

MATRIX: dict[Action, frozenset[AnyRole]] = {
    Action.ASK_SOP: _STAFF | {SystemRole.OPERATOR, SystemRole.GUEST},
    Action.ASK_CLINICAL: _PHARMACIST,
    Action.INGEST_SOPS: frozenset({Role.PHARMACIST, Role.ADMIN}) | _OPERATOR,
    Action.DRAFT_PA: _CLINICAL_STAFF,
    Action.DRAFT_CMR: _CLINICAL_STAFF,
    Action.DRAFT_CLINICAL: _PHARMACIST,
    Action.VIEW_DRAFT: _CLINICAL_STAFF,
    Action.LIST_DRAFTS: _CLINICAL_STAFF,
    Action.EDIT_DRAFT: _CLINICAL_STAFF,
    Action.APPROVE_DRAFT: _PHARMACIST,
    Action.REQUEST_CHANGES: _PHARMACIST,
    Action.DISCARD_DRAFT: _CLINICAL_STAFF,
    Action.EXPORT_DRAFT: _CLINICAL_STAFF,
    Action.VIEW_DEADLINES: _STAFF | {SystemRole.OPERATOR, SystemRole.SCHEDULER},
    Action.DELIVER_DIGEST: frozenset({SystemRole.SCHEDULER}),
    Action.COMPLETE_OBLIGATION: _STAFF,
    Action.COMPLETE_FOR_OTHERS: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Action.MANAGE_CALENDAR: frozenset({Role.PHARMACIST, Role.ADMIN}) | _OPERATOR,
    Action.TRACK_PA: _CLINICAL_STAFF,
    Action.VIEW_STAFF: _STAFF | _OPERATOR,
    Action.MANAGE_STAFF: frozenset({Role.PHARMACIST, Role.ADMIN}) | _OPERATOR,
    Action.VIEW_AUDIT: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Action.VERIFY_RECORDS: frozenset({Role.PHARMACIST, Role.ADMIN}) | _OPERATOR,
    Action.APPROVE_SOP: frozenset({Role.PHARMACIST, Role.ADMIN}),
}

# Why a refusal happened, in words a technician or a pharmacist understands (no CLI flags).
WHY: dict[Action, str] = {
    Action.ASK_CLINICAL: "clinical-judgment questions go to the pharmacist on duty",
    Action.DRAFT_CLINICAL: "clinical assessments and prescriber recommendations are pharmacist-only",
    Action.APPROVE_DRAFT: "only a pharmacist can approve a draft",
    Action.REQUEST_CHANGES: "only a pharmacist reviews drafts",
    Action.VIEW_AUDIT: "the audit log is for pharmacists and admins",
    Action.DELIVER_DIGEST: "the daily digest is posted by the scheduler",
    Action.APPROVE_SOP: "a pharmacist or an admin approves SOP changes",
    Action.COMPLETE_FOR_OTHERS: "another person's credential or personal deadline is recorded by a "
    "pharmacist or an admin",
}
_SYSTEM_WHY: dict[SystemRole, str] = {
    SystemRole.OPERATOR: "this needs a person on record: name yourself as a staff member",
    SystemRole.SCHEDULER: "background jobs only read deadlines",
    SystemRole.GUEST: "you are not in this pharmacy's staff directory, so I can only answer SOP questions",
}


# What each action is, in the words of a refusal: "Bob Smith (technician) may not approve drafts".
DESCRIBE: dict[Action, str] = {
    Action.ASK_SOP: "ask SOP questions",
    Action.ASK_CLINICAL: "get clinical-judgment questions answered",
    Action.INGEST_SOPS: "change the SOP manual",
    Action.DRAFT_PA: "start prior-authorization drafts",
    Action.DRAFT_CMR: "prepare CMR drafts",
    Action.DRAFT_CLINICAL: "write clinical drafts (SOAP notes, prescriber letters)",
    Action.VIEW_DRAFT: "see a draft's content",
    Action.LIST_DRAFTS: "see the review queue",
    Action.EDIT_DRAFT: "edit drafts",
    Action.APPROVE_DRAFT: "approve drafts",
    Action.REQUEST_CHANGES: "request changes on drafts",
    Action.DISCARD_DRAFT: "discard drafts",
    Action.EXPORT_DRAFT: "download drafts",
    Action.VIEW_DEADLINES: "see compliance deadlines",
    Action.DELIVER_DIGEST: "post the daily digest",
    Action.COMPLETE_OBLIGATION: "record completed deadlines",
    Action.COMPLETE_FOR_OTHERS: "record another person's credential or deadline",
    Action.MANAGE_CALENDAR: "change the compliance calendar",
    Action.TRACK_PA: "track prior authorizations",
    Action.VIEW_STAFF: "see the staff directory",
    Action.MANAGE_STAFF: "change the staff directory",
    Action.VIEW_AUDIT: "read the audit log",
    Action.VERIFY_RECORDS: "check the records for tampering",
    Action.APPROVE_SOP: "approve SOP changes",
}


def describe(action: Action) -> str:
    return DESCRIBE.get(action, action.value.replace("_", " "))


def can(role: AnyRole | str, action: Action) -> bool:
    value = str(role)
    for enum in (Role, SystemRole):
        try:
            return enum(value) in MATRIX[action]
        except ValueError:
            continue
    return False


def why_not(role: AnyRole | str, action: Action) -> str:
    """The reason ``role`` may not do ``action``, one line, user's words."""
    try:
        return _SYSTEM_WHY[SystemRole(str(role))]
    except ValueError:
        pass
    return WHY.get(action, f"the {role} role does not include this")


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role '{value}' (expected one of: {allowed})", field="role") from None
