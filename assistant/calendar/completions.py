"""Completions: record that a deadline was met, with evidence (audited)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from assistant import audit, files
from assistant.access import deny, guarded
from assistant.calendar import tables as t
from assistant.calendar.models import Completion, Occurrence, RollingSchedule
from assistant.calendar.schedule import add_duration, check_date
from assistant.calendar.series import (
    CalendarData,
    Series,
    aware,
    load_calendar,
    occurrence_of,
    rolling_chain,
    series_dates,
    site_today,
)
from assistant.config import Settings
from assistant.errors import InvalidInput, NotFound
from assistant.principal import Principal
from assistant.roles import Action, can
from assistant.staff import record_credential_expiry
from assistant.store import Store

# A completion is work done for one due date: done more than 5 years before it (0001-01-01, a typo
# for last year's date ...) it is not a completion of this occurrence.
EARLIEST_COMPLETION_DAYS = 5 * 366


def split_occurrence_id(occ_id: str) -> tuple[str, date]:
    prefix, sep, tail = occ_id.strip().rpartition("@")
    try:
        due = date.fromisoformat(tail)
    except ValueError:
        due = None  # type: ignore[assignment]
    if not sep or not prefix or due is None:
        raise InvalidInput(
            f"'{occ_id}' is not an occurrence id like dea-registration@main@2027-05-31", field="occurrence_id"
        )
    return prefix, due


def find_series(cal: CalendarData, occ_id: str) -> tuple[Series, date]:
    """The series and due date behind an occurrence id, or NotFound."""
    prefix, due = split_occurrence_id(occ_id)
    for s in cal.series():
        if s.occ_id(due) != occ_id.strip():
            continue
        if s.fixed_due is not None:
            return s, due
        if due in series_dates(s, cal, due, due):
            return s, due
    raise NotFound(f"no deadline with the id '{occ_id}'", field="occurrence_id")


def evidence_roots(settings: Settings) -> list[Path]:
    """Folders evidence files may be read from: ``evidence_roots`` (os.pathsep-separated) or, by
    default, the home folder, the current folder and the temp folder."""
    if settings.evidence_roots:
        return [Path(p).expanduser() for p in settings.evidence_roots.split(os.pathsep) if p.strip()]
    return [Path.home(), Path.cwd(), Path(tempfile.gettempdir())]


def _open_evidence(settings: Settings, src: Path) -> tuple[int, int]:
    """Open the evidence file safely; returns (fd, size). Refused, with a one-line reason: a file
    outside the allowed folders (after following every symlink), anything in the data directory or
    a system folder (/proc, /dev, /etc ...), a device, pipe or folder, an empty or oversized file."""
    given = Path(src).expanduser()
    if not given.is_absolute():
        given = Path.cwd() / given
    if not os.path.lexists(given):
        raise InvalidInput(f"evidence file not found: {src}", field="evidence_file")
    real = Path(os.path.realpath(given))
    why = files.protected_reason(real, [settings.data_dir])
    if why:
        raise InvalidInput(
            f"evidence file {src} refused: {why}", code="evidence_refused", field="evidence_file"
        )
    roots = [Path(os.path.realpath(r)) for r in evidence_roots(settings)]
    if not any(files.is_within(real, r) for r in roots):
        raise InvalidInput(
            f"evidence file {src} is outside the folders evidence may come from "
            f"({', '.join(str(r) for r in roots)}; RXDESK_EVIDENCE_ROOTS sets others)",
            code="evidence_refused",
            field="evidence_file",
        )
    try:
        # O_NONBLOCK: opening a named pipe must not hang; O_NOFOLLOW: the path was resolved above
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read evidence file {src}: {exc.strerror}", field="evidence_file"
        ) from None
    st = os.fstat(fd)
    limit = int(settings.max_evidence_mb * (1 << 20))
    problem = None
    if not stat.S_ISREG(st.st_mode):
        problem = "it is not a regular file (a device, pipe or folder)"
    elif st.st_size == 0:
        problem = "it is empty"
    elif st.st_size > limit:
        problem = f"it is {files.human_size(st.st_size)} (limit {files.human_size(limit)})"
    if problem:
        os.close(fd)
        raise InvalidInput(
            f"evidence file {src} refused: {problem}", code="evidence_refused", field="evidence_file"
        )
    return fd, limit


def _store_evidence_file(settings: Settings, src: Path) -> tuple[str, str]:
    """Copy the evidence into ``<data-dir>/files/evidence/`` under its SHA-256 (0600). Each copy goes
    through its own temp file, so two completions attaching the same file never collide."""
    fd, limit = _open_evidence(settings, src)
    incoming = settings.files_dir / "evidence" / ".incoming"
    files.private_mkdir(incoming)
    tmp_fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="ev-", suffix=".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "rb") as src_fh, os.fdopen(tmp_fd, "wb") as out:
            os.set_blocking(src_fh.fileno(), True)
            for chunk in iter(lambda: src_fh.read(1 << 20), b""):
                size += len(chunk)
                if size > limit:  # it grew while we read it
                    raise InvalidInput(
                        f"evidence file {src} refused: larger than {files.human_size(limit)}",
                        code="evidence_refused",
                        field="evidence_file",
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        suffix = "".join(Path(src).suffixes[-2:])[:16]
        rel = Path("evidence") / sha[:2] / f"{sha}{suffix}"
        dest = settings.files_dir / rel
        files.private_mkdir(dest.parent)
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, dest)  # same content under the same name: a concurrent copy is harmless
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return rel.as_posix(), sha


def _authorize_series(store: Store, principal: Principal, s: Series, occ_id: str) -> None:
    """Whose deadline is it? A person's own credential or personal obligation is theirs to record;
    someone else's needs a pharmacist or an admin; PA deadlines are PA work."""
    if s.kind == "pa":
        needed = Action.TRACK_PA
    elif s.staff_id is not None and s.staff_id != principal.id:
        needed = Action.COMPLETE_FOR_OTHERS
    else:
        return
    if not can(principal.role, needed):
        raise deny(store, principal, needed, event="calendar.complete", target=occ_id)


@guarded(Action.COMPLETE_OBLIGATION, "calendar.complete")
def complete(
    store: Store,
    occ_id: str,
    *,
    principal: Principal,
    on: date,
    evidence: str | None = None,
    evidence_file: Path | None = None,
    new_expiry: date | None = None,
    now: datetime | None = None,
) -> Completion:
    """Record a completion (audited). Rolling series: the next due date counts from ``on``.

    ``new_expiry`` (credentials only) records the renewal in the staff directory.
    """
    if not (evidence and evidence.strip()) and evidence_file is None:
        raise InvalidInput(
            "say what proves it was done, as text or a file", code="evidence_needed", field="evidence"
        )
    if evidence and evidence_file:
        raise InvalidInput("give the evidence as text or as a file, not both", field="evidence")
    cal = load_calendar(store)
    s, due = find_series(cal, occ_id)
    _authorize_series(store, principal, s, occ_id)
    today = site_today(cal.tz(s.site), now)
    if on > today:
        raise InvalidInput(
            f"the completion date {on.isoformat()} is in the future (today is {today.isoformat()} at the "
            "site); record a completion once it is done",
            field="on",
        )
    if on < due - timedelta(days=EARLIEST_COMPLETION_DAYS):
        raise InvalidInput(
            f"the completion date {on.isoformat()} is more than 5 years before the due date "
            f"{due.isoformat()}; check the date",
            field="on",
        )
    if new_expiry is not None:
        try:
            check_date(new_expiry, "the new expiry")
        except ValueError as exc:
            raise InvalidInput(str(exc), field="new_expiry") from None
    done = cal.completions.get((s.obligation_id, s.key), {})
    if due in done:
        raise InvalidInput(
            f"'{occ_id}' was already completed on {done[due].completed_on.isoformat()}", code="already_done"
        )
    sched = s.obligation.schedule if s.obligation else None
    if isinstance(sched, RollingSchedule):
        _settled, open_due = rolling_chain(sched, s.tracked_from or date.min, done, due)
        if due != open_due:
            raise InvalidInput(
                f"'{occ_id}' is a projected date; complete the open one first: {s.occ_id(open_due)}",
                field="occurrence_id",
            )
    if new_expiry is not None:
        if s.kind != "credential":
            raise InvalidInput("a new expiry date applies to credential deadlines only", field="new_expiry")
        if new_expiry <= due:
            raise InvalidInput(
                f"the new expiry {new_expiry.isoformat()} must be after the old expiry {due}",
                field="new_expiry",
            )
    stored_file = sha = None
    if evidence_file is not None:
        stored_file, sha = _store_evidence_file(store.settings, evidence_file)
    recorded_at = aware(now) if now else datetime.now(UTC)
    snapshot = occurrence_of(s, due, on).model_dump(mode="json")
    values = {
        "occurrence_id": s.occ_id(due),
        "obligation_id": s.obligation_id,
        "series_key": s.key,
        "due": due,
        "completed_on": on,
        "snapshot": snapshot,
        "evidence": evidence.strip() if evidence else None,
        "evidence_file": stored_file,
        "evidence_sha256": sha,
        "completed_by": principal.id,
        "recorded_at": recorded_at,
    }
    with store.begin() as conn:
        new_id = conn.execute(
            insert(t.completions).values(**values).returning(t.completions.c.id)
        ).scalar_one()
        audit.record(
            conn,
            actor=principal.id,
            action="calendar.complete",
            target=values["occurrence_id"],
            patient_ref=_pa_patient_ref(cal, s),
            detail={
                "completed_on": on.isoformat(),
                "due": due.isoformat(),
                "evidence_sha256": sha,
                "late_days": max(0, (on - due).days),
            },
        )
        if new_expiry is not None and s.staff_id and s.cred_type:
            # same transaction: a completion without its renewal (or the reverse) never persists
            record_credential_expiry(conn, s.staff_id, s.cred_type, new_expiry, actor=principal.id)
    next_due = add_duration(on, sched.every) if isinstance(sched, RollingSchedule) else None
    return Completion(id=new_id, **values, next_due=next_due, new_expiry=new_expiry)


def _pa_patient_ref(cal: CalendarData, s: Series) -> str | None:
    if s.kind != "pa":
        return None
    return next((p.patient_ref for p in cal.pas if p.id == s.key), None)


def recent_completions(cal: CalendarData, *, site: str | None, since: date, until: date) -> list[Occurrence]:
    out = []
    for row in cal.completion_list:
        if not since <= row.completed_on <= until:
            continue
        occ = Occurrence.model_validate(
            {
                **row.snapshot,
                "status": "done",
                "completed_on": row.completed_on,
                "completed_by": row.completed_by,
            }
        )
        if site is not None and occ.site != site:
            continue
        out.append(occ.model_copy(update={"days_left": (row.due - until).days}))
    out.sort(key=lambda o: (o.completed_on, o.id), reverse=True)
    return out
