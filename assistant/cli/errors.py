"""Service errors worded for the command line: the core names fields, the CLI names its flags."""

from __future__ import annotations

from assistant.errors import RxdeskError

# field (as the services name it) -> the flag a CLI user types
FIELD_FLAGS = {
    "override_reason": "--override-reason TEXT",
    "reason": "--reason TEXT",
    "evidence": "--evidence TEXT or --evidence-file PATH",
    "evidence_file": "--evidence-file PATH",
    "on": "--on DATE",
    "new_expiry": "--new-expiry DATE",
    "notice_date": "--notice-date DATE",
    "until": "--until DATE",
    "patient_ref": "--patient-ref TOKEN",
    "urgency": "--urgency",
    "program": "--program",
    "drug": "--drug",
    "days": "--days",
    "within": "--within",
    "status": "--status",
    "format": "--format",
    "site": "--site",
    "since": "--since",
    "as_of": "--as-of DATE",
    "text": '--text "..."',
    "role": "--role",
    "force": "--force",
}
# where to look something up when it was not found
LOOKUPS = {
    "draft_id": "rxdesk review list",
    "occurrence_id": "rxdesk deadlines --json",
    "staff_id": "rxdesk staff list",
    "pa": "rxdesk pa list",
    "site": "rxdesk calendar sites",
    "sop_id": "rxdesk sops pending",
}
BY_CODE = {
    "index_empty": "the SOP index is empty: run `rxdesk ingest knowledge/sops` first",
}
# a hint added after the service's words, by error code
HINTS = {
    "tampered": "see: rxdesk audit verify",
    "chain_key": "see: README, Integrity",
    "ingest_running": "try again when it finishes, or pass --wait SECONDS",
}


def cli_message(exc: RxdeskError) -> str:
    """One line for stderr: the service's words plus the flag or command that helps."""
    if exc.code in BY_CODE:
        return BY_CODE[exc.code]
    message = exc.message
    if exc.code in HINTS:
        return f"{message} ({HINTS[exc.code]})"
    if exc.code == "needs_person":
        return f"{message} (add --as STAFF_ID)"
    if exc.code == "not_found" and exc.field in LOOKUPS:
        return f"{message} (see: {LOOKUPS[exc.field]})"
    if exc.field in FIELD_FLAGS and exc.code != "not_found":
        return f"{message} [{FIELD_FLAGS[exc.field]}]"
    return message
