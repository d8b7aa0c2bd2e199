"""What an approval means for the document that leaves the pharmacy.

- **Recipient-specific gaps.** Each kind says which missing facts block approval for its recipient
  (``BLOCKING``: the plan, the prescriber or the chart cannot act without them; or, for the patient's
  CMR, everything except ``HANDWRITE``). Any other missing fact may be approved with a recorded
  override and is then printed as a blank line to complete by hand: an approved export never prints
  ``[MISSING: ...]``.
- **The signer is the approving pharmacist**, from the staff directory (name, credentials, NPI), not
  whoever the case named. A kind lists what its signature shows (``SIGNER_NEEDS``).
- **The approval record** (approver, time, version, content hash) goes into the document metadata and
  a discreet footer (:class:`ApprovalStamp`), not a banner, and never an internal staff id.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, Field

from assistant.drafting.case import Case
from assistant.drafting.kinds import build_document, get_kind, pa_appeal

BLANK = "__________________"
_MISSING = re.compile(r"\[MISSING: [^\]]*\]")


def clean(text: str) -> str:
    """A final document's text: every missing-fact placeholder becomes a line to complete by hand."""
    return _MISSING.sub(BLANK, text)


class Signer(BaseModel):
    """The pharmacist whose name, credentials and NPI sign an approved document."""

    name: str
    credentials: str | None = None
    npi: str | None = None
    phone: str | None = Field(default=None, description="Direct phone, when the case records the signer's.")

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "credentials": self.credentials or "",
            "npi": self.npi or "",
            "phone": self.phone or "",
        }

    def display(self) -> str:
        return ", ".join(x for x in (self.name, self.credentials) if x)


def signer_for(name: str, credentials: str | None, npi: str | None, case: Case) -> Signer:
    """The approving pharmacist from the staff directory; where the directory lacks credentials or
    NPI and the case names the same person as its pharmacist, the case's values complete them."""
    same = " ".join((case.pharmacist.name or "").lower().split()) == " ".join(name.lower().split())
    return Signer(
        name=name,
        credentials=credentials or (case.pharmacist.credentials if same else None),
        npi=npi or (case.pharmacist.npi if same else None),
        phone=case.pharmacist.phone if same else None,  # never another pharmacist's direct line
    )


class ApprovalStamp(BaseModel):
    """The approval record printed discreetly on, and embedded in, an approved export."""

    draft_id: int
    version: int
    approved_at: dt.datetime
    sha256: str = Field(description="Content hash of the approved version.")
    signer: Signer
    override_reason: str | None = None

    def footer(self) -> str:
        at = self.approved_at.astimezone(dt.UTC)
        return (
            f"Approved by {self.signer.display()} on {at:%m/%d/%Y %H:%M} UTC"
            f" · version {self.version} · ref {self.sha256[:12]}"
        )

    def metadata(self) -> dict[str, str]:
        at = self.approved_at.astimezone(dt.UTC)
        npi = f", NPI {self.signer.npi}" if self.signer.npi else ""
        return {
            "author": self.signer.display(),
            "subject": (
                f"Approved by {self.signer.display()}{npi} on {at.isoformat(timespec='seconds')}; "
                f"draft {self.draft_id} version {self.version}; sha256 {self.sha256}"
            ),
            "keywords": f"rxdesk approved draft-{self.draft_id} v{self.version} sha256:{self.sha256}",
        }


class ApprovalCheck(BaseModel):
    """What stands between a draft and approval, for its recipient."""

    blocking: list[str] = Field(default_factory=list, description="Missing facts that block approval.")
    handwritten: list[str] = Field(
        default_factory=list, description="Missing facts approvable with an override, printed blank."
    )
    signer_gaps: list[str] = Field(default_factory=list, description="What the signer's record lacks.")
    stale: list[str] = Field(default_factory=list, description="Facts that changed since drafting.")


def _blocks(module, path: str) -> bool:  # type: ignore[no-untyped-def]
    if hasattr(module, "BLOCKING"):
        return path in module.BLOCKING or not path
    return path not in getattr(module, "HANDWRITE", set())


def approval_check(
    kind: str, case: Case, *, signer: Signer, drafted_on: dt.date, approved_on: dt.date
) -> ApprovalCheck:
    """Sort a draft's missing facts for its recipient, and check the signer and the dates it states."""
    module = get_kind(kind)
    built = build_document(kind, case, prepared=drafted_on)
    out = ApprovalCheck()
    for label in built.missing:
        path = built.missing_paths.get(label, "")
        if path in getattr(module, "SIGNER_PATHS", set()):
            continue  # the approving pharmacist signs
        (out.blocking if _blocks(module, path) else out.handwritten).append(label)
    for need in getattr(module, "SIGNER_NEEDS", ()):
        if not getattr(signer, need):
            out.signer_gaps.append({"npi": "NPI", "credentials": "credentials (e.g. PharmD, RPh)"}[need])
    if kind == "pa-appeal" and case.prepared_date is None:
        # an appeal drafted before its deadline must not be approved, unchanged, after it
        then, now = pa_appeal.appeal_clock(case, drafted_on), pa_appeal.appeal_clock(case, approved_on)
        if then and now and not then.late and now.late:
            out.stale.append(
                f"the appeal deadline ({now.deadline.strftime('%m/%d/%Y')}) passed after this draft was "
                "made; redraft it so it asks for good cause"
            )
    return out


RECIPIENT_WORDS = {
    "patient": "the patient",
    "payer": "the plan",
    "prescriber": "the prescriber",
    "record": "the chart",
}


def refusal(draft_id: int, kind: str, check: ApprovalCheck) -> str | None:
    """One line saying why this draft cannot be approved for its recipient, or None when it can."""
    who = RECIPIENT_WORDS.get(getattr(get_kind(kind), "RECIPIENT", "record"), "its recipient")
    if check.stale:
        return f"draft {draft_id} cannot be approved: {check.stale[0]}"
    if check.blocking:
        more = f" (+{len(check.blocking) - 3} more)" if len(check.blocking) > 3 else ""
        return (
            f"draft {draft_id} cannot be approved for {who}: it lacks "
            f"{', '.join(check.blocking[:3])}{more}, which cannot be left to complete by hand"
        )
    if check.signer_gaps:
        return (
            f"draft {draft_id} cannot be approved: your staff record has no {' or '.join(check.signer_gaps)} "
            "to sign it with; ask an administrator to add it to the staff directory"
        )
    return None


def stamp_for(draft_id: int, version: dict, case: Case, directory_signer: Signer | None) -> ApprovalStamp:
    """The approval record of an approved version row (signer frozen at approval; versions approved
    before signers were recorded fall back to the staff directory, then to the case's pharmacist)."""
    if version.get("signer"):
        signer = Signer.model_validate(version["signer"])
    elif directory_signer is not None:
        signer = directory_signer
    else:
        signer = Signer(
            name=case.pharmacist.name or "the approving pharmacist", credentials=case.pharmacist.credentials
        )
    approved_at = version["approved_at"]
    if approved_at.tzinfo is None:
        approved_at = approved_at.replace(tzinfo=dt.UTC)
    return ApprovalStamp(
        draft_id=draft_id,
        version=version["version"],
        approved_at=approved_at,
        sha256=version["content_sha256"],
        signer=signer,
        override_reason=version.get("override_reason"),
    )
