"""The agent's tools: thin calls into the services, always as the asking principal.

Each tool returns short plain text for the model and records what it did in the turn's
:class:`TurnLog`, which the reply is built from (the model's words never replace the services'
data). A refused call (the delegation matrix, bad input) is reported to the model as a refusal and
to the person in the reply. No tool approves, sends, signs or exports anything.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from assistant.agent.guards import Sources, keep_traceable, traceable
from assistant.agent.replies import ChatContext
from assistant.calendar import ask as calendar_ask
from assistant.calendar import completions, deadlines, pa_tracking
from assistant.calendar.ask import DeadlineAnswer
from assistant.calendar.models import Completion, Occurrence, PARequest
from assistant.drafting.case import Case
from assistant.errors import InvalidInput, RxdeskError
from assistant.review import service as review
from assistant.review.service import DraftView
from assistant.sops import service as sops
from assistant.sops.models import SectionText

DraftKind = Literal["mtm-cmr", "mtm-note", "pa-packet", "pa-appeal", "prescriber-letter"]
MAX_SECTION_CHARS = 2500  # per section sent to the model
MAX_LISTED = 15


@dataclass
class DraftResult:
    draft: DraftView
    dropped: list[str]


@dataclass
class TurnLog:
    """What the tools did during one turn (the reply is built from this, not from the model's text)."""

    sections: dict[int, SectionText] = field(default_factory=dict)
    searches: int = 0
    covered: bool = False  # at least one search found SOPs that cover the question
    deadline_answers: list[DeadlineAnswer] = field(default_factory=list)
    drafts: list[DraftResult] = field(default_factory=list)
    pas: list[PARequest] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    refusals: list[RxdeskError] = field(default_factory=list)
    handoff: str | None = None
    tool_calls: int = 0

    @property
    def shown_sop_ids(self) -> set[str]:
        return {s.sop_id for s in self.sections.values()}


@dataclass
class ToolBox:
    ctx: ChatContext
    log: TurnLog
    said: list[str]  # what people said in this conversation (for the never-invent guard)
    today: dt.date = field(default_factory=dt.date.today)

    def _refused(self, exc: RxdeskError) -> str:
        self.log.refusals.append(exc)
        return f"REFUSED ({exc.code}): {exc.message}. Tell the person; do not retry."

    # -- SOPs ------------------------------------------------------------------------------------
    def search_sops(self, query: str) -> str:
        self.log.tool_calls += 1
        try:
            found = sops.search_sections(self.ctx.store, query, principal=self.ctx.principal)
        except RxdeskError as exc:
            return self._refused(exc)
        self.log.searches += 1
        self.log.covered = self.log.covered or found.covered
        if not found.covered:
            return "NO SOP COVERS THIS. Tell the person our SOPs do not cover it; do not answer from memory."
        parts = []
        for section in found.sections:
            n = len(self.log.sections) + 1
            self.log.sections[n] = section
            version = f", version {section.version}" if section.version else ""
            parts.append(
                f"[{n}] {section.sop_id} {section.title} > {section.section}{version}\n"
                f"{section.text[:MAX_SECTION_CHARS]}"
            )
        return "\n\n".join(parts)

    # -- deadlines -------------------------------------------------------------------------------
    def _record_deadlines(self, answer: DeadlineAnswer) -> str:
        self.log.deadline_answers.append(answer)
        if not answer.found:
            return "No matching deadlines."
        return "\n".join(_occurrence_line(o) for o in answer.occurrences[:MAX_LISTED]) or "Nothing due."

    def deadlines_ask(self, question: str) -> str:
        self.log.tool_calls += 1
        try:
            answer = calendar_ask.ask(
                self.ctx.store, question, principal=self.ctx.principal, site=self.ctx.site
            )
        except RxdeskError as exc:
            return self._refused(exc)
        return self._record_deadlines(answer)

    def deadlines_list(self, within_days: int = 14) -> str:
        self.log.tool_calls += 1
        try:
            listing = deadlines.list_deadlines(
                self.ctx.store, principal=self.ctx.principal, site=self.ctx.site, within=max(0, within_days)
            )
        except RxdeskError as exc:
            return self._refused(exc)
        answer = DeadlineAnswer(
            question=f"due within {within_days} days",
            kind="window",
            as_of=listing.as_of,
            site=self.ctx.site,
            subject=f"in the next {within_days} days",
            window_start=listing.as_of,
            window_end=listing.as_of + dt.timedelta(days=max(0, within_days)),
            occurrences=listing.occurrences,
        )
        return self._record_deadlines(answer)

    # -- drafts ----------------------------------------------------------------------------------
    def _sources(self, stored: Case | None = None) -> Sources:
        return Sources(
            texts=self.said,
            today=self.today,
            stored=stored.model_dump(mode="json", exclude_defaults=True) if stored else {},
        )

    def _draft_result(self, view: DraftView, dropped: list[str]) -> str:
        self.log.drafts.append(DraftResult(view, dropped))
        lines = [f"Draft #{view.draft_id} ({view.kind}) saved for pharmacist review."]
        if view.missing:
            lines.append("Missing facts: " + "; ".join(view.missing))
        if dropped:
            lines.append("Left out because the person never said them: " + "; ".join(dropped))
        return "\n".join(lines)

    def start_draft(self, kind: DraftKind, case: Case) -> str:
        self.log.tool_calls += 1
        cleaned, dropped = keep_traceable(case, self._sources())
        try:
            view = review.create_draft(
                self.ctx.store, kind, cleaned, principal=self.ctx.principal, allow_errors=True, source="agent"
            )
        except RxdeskError as exc:
            return self._refused(exc)
        return self._draft_result(view, dropped)

    def update_draft(self, draft_id: int, changes: Case) -> str:
        self.log.tool_calls += 1
        try:
            stored = review.open_case(self.ctx.store, draft_id, principal=self.ctx.principal)
            merged = _merge(
                stored.model_dump(mode="json", exclude_defaults=True),
                changes.model_dump(mode="json", exclude_defaults=True),
            )
            cleaned, dropped = keep_traceable(Case.model_validate(merged), self._sources(stored))
            view = review.edit_draft(
                self.ctx.store, draft_id, cleaned, principal=self.ctx.principal, allow_errors=True
            )
        except RxdeskError as exc:
            return self._refused(exc)
        return self._draft_result(view, dropped)

    # -- PA tracking and completions --------------------------------------------------------------
    def track_pa(self, patient_ref: str, drug: str, submitted_at: str, urgency: str = "standard") -> str:
        self.log.tool_calls += 1
        src = self._sources()
        for label, value in (("drug", drug), ("submitted date", submitted_at[:10])):
            if not traceable(label, value, src):
                return self._refused(
                    InvalidInput(f"I could not find the {label} '{value}' in what you told me")
                )
        try:
            pa = pa_tracking.track(
                self.ctx.store,
                principal=self.ctx.principal,
                patient_ref=patient_ref,
                drug=drug,
                submitted=_parse_datetime(submitted_at),
                urgency=urgency.strip().lower(),
                site=self.ctx.site,
            )
        except RxdeskError as exc:
            return self._refused(exc)
        self.log.pas.append(pa)
        return f"Tracking {pa.id}; follow-up deadlines: " + "; ".join(
            _occurrence_line(o) for o in pa.deadlines
        )

    def record_completion(self, occurrence_id: str, completed_on: str, evidence: str) -> str:
        self.log.tool_calls += 1
        try:
            done = completions.complete(
                self.ctx.store,
                occurrence_id,
                principal=self.ctx.principal,
                on=dt.date.fromisoformat(completed_on[:10]),
                evidence=evidence,
            )
        except ValueError:
            return self._refused(InvalidInput(f"'{completed_on}' is not a date like 2026-11-26", field="on"))
        except RxdeskError as exc:
            return self._refused(exc)
        self.log.completions.append(done)
        return f"Recorded: {done.occurrence_id} completed on {done.completed_on.isoformat()}."

    def hand_off_to_pharmacist(self, summary: str) -> str:
        self.log.tool_calls += 1
        self.log.handoff = summary.strip()[:500] or "clinical question"
        return "Handed off. Tell the person a pharmacist will answer; do not answer it yourself."


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _parse_datetime(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date-time like 2026-11-26T14:30", field="submitted") from None


def _occurrence_line(o: Occurrence) -> str:
    return json.dumps(
        {"id": o.id, "title": o.title, "due": o.due.isoformat(), "status": o.status, "owner": o.owner},
        ensure_ascii=False,
    )


class _Query(BaseModel):
    query: str = Field(description="What to look for, in the person's words plus key terms.")


class _Question(BaseModel):
    question: str = Field(description="The deadline question in plain words.")


class _Within(BaseModel):
    within_days: int = Field(default=14, ge=0, le=3650, description="How many days ahead.")


class _StartDraft(BaseModel):
    kind: DraftKind
    case: Case = Field(description="Only facts the person gave; leave everything else out.")


class _UpdateDraft(BaseModel):
    draft_id: int
    changes: Case = Field(description="Only the fields to change, with facts the person gave.")


class _TrackPA(BaseModel):
    patient_ref: str = Field(
        description="The patient reference token from the system of record, never a name."
    )
    drug: str
    submitted_at: str = Field(description="When it was submitted, ISO 8601 like 2026-11-26T10:00.")
    urgency: Literal["standard", "expedited"] = "standard"


class _Completion(BaseModel):
    occurrence_id: str = Field(description="The deadline id, e.g. dea-registration@main@2027-05-31.")
    completed_on: str = Field(description="The date it was done, YYYY-MM-DD.")
    evidence: str = Field(description="What proves it was done.")


class _Handoff(BaseModel):
    summary: str = Field(description="One sentence for the pharmacist: who asked what.")


# tools that change state: run only when the person's own message asked for that kind of thing
STATE_CHANGING = {"start_draft", "update_draft", "track_pa", "record_completion"}
NEEDS_CONFIRMATION = {"record_completion"}


def build_tools(box: ToolBox) -> list[BaseTool]:
    spec = [
        (box.search_sops, _Query, "Search the pharmacy's SOPs. Returns numbered sections to cite as [n]."),
        (box.deadlines_ask, _Question, "Answer a question about compliance deadlines from the calendar."),
        (box.deadlines_list, _Within, "List compliance deadlines due in the next N days (overdue first)."),
        (
            box.start_draft,
            _StartDraft,
            "Start a document draft for pharmacist review from facts the person gave.",
        ),
        (box.update_draft, _UpdateDraft, "Change facts in an existing draft (a new version for review)."),
        (box.track_pa, _TrackPA, "Track a prior authorization that was submitted (follow-up deadlines)."),
        (
            box.record_completion,
            _Completion,
            "Record that a compliance deadline was met (asks the person first).",
        ),
        (box.hand_off_to_pharmacist, _Handoff, "Send a clinical-judgment question to the pharmacist."),
    ]
    return [
        StructuredTool.from_function(func=fn, name=fn.__name__, description=desc, args_schema=schema)
        for fn, schema, desc in spec
    ]
