"""Finding 5 (forgery goes unnoticed), on real SQLite and real PostgreSQL.

Each test forges the way someone with write access to the database (but not the chain key) would,
then checks that export refuses the draft and ``verify_records`` names the first broken link.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from assistant import audit, integrity
from assistant.audit_query import verify_records
from assistant.cli import main
from assistant.config import REPO_ROOT, Settings
from assistant.drafting.case import load_case
from assistant.errors import PermissionDenied
from assistant.integrity import ChainKeyError, TamperDetected
from assistant.principal import OPERATOR
from assistant.review import service
from assistant.review.tables import draft_versions, drafts
from assistant.store import Store, open_store
from assistant.store.tables import audit_log
from tests.conftest import who

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"


def _approved(store: Store) -> int:
    jdoe = who(store, "jdoe")
    view = service.create_draft(store, "pa-packet", load_case(EXAMPLES / "pa-packet.yaml"), principal=jdoe)
    service.approve(store, view.draft_id, principal=jdoe)
    return view.draft_id


def _pending(store: Store) -> int:
    bsmith = who(store, "bsmith")
    return service.create_draft(
        store, "pa-packet", load_case(EXAMPLES / "pa-packet.yaml"), principal=bsmith
    ).draft_id


def _lift(store: Store, conn, table: str) -> None:  # type: ignore[no-untyped-def]
    """Do what an attacker with database access does first: switch off the row triggers."""
    if store.dialect == "sqlite":
        names = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=:t"), {"t": table}
        ).scalars()
        for name in list(names):
            conn.execute(text(f"DROP TRIGGER {name}"))
    else:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _export_refused(store: Store, draft_id: int) -> str:
    jdoe = who(store, "jdoe")
    with pytest.raises(TamperDetected) as caught:
        service.render_draft(store, draft_id, principal=jdoe, fmt="md")
    refusal = audit.entries(store, action="draft.export", limit=1)[0]
    assert (refusal.outcome, refusal.target) == ("tampered", f"draft:{draft_id}")
    return caught.value.message


def test_forged_version_copying_the_approval_is_refused(staffed_store: Store) -> None:
    draft_id = _approved(staffed_store)
    with staffed_store.begin() as conn:
        v = conn.execute(select(draft_versions).where(draft_versions.c.draft_id == draft_id)).mappings().one()
        forged = {k: v[k] for k in v if k != "id" and not k.startswith("chain_")}
        doc = dict(forged["document"])
        doc_text = str(doc).replace("Johnson", "Forgedname")
        assert doc_text != str(doc)
        forged |= {"version": 2, "document": eval(doc_text)}  # noqa: S307 - the test's own dict
        conn.execute(insert(draft_versions).values(**forged))
        conn.execute(update(drafts).where(drafts.c.id == draft_id).values(current_version=2))
    message = _export_refused(staffed_store, draft_id)
    assert "version 2" in message and "no seal" in message
    report = verify_records(staffed_store, principal=who(staffed_store, "jdoe"))
    assert not report.ok and report.first_break
    assert (report.first_break.table, report.first_break.problem) == (
        "draft_versions",
        "a record outside the chain: inserted directly into the database",
    )


def test_approval_set_directly_is_refused(staffed_store: Store) -> None:
    by_field = _pending(staffed_store)
    by_status = _pending(staffed_store)
    with staffed_store.begin() as conn:
        conn.execute(
            update(draft_versions)
            .where(draft_versions.c.draft_id == by_field)
            .values(approved_by="jdoe", approved_at=dt.datetime.now(dt.UTC))
        )
        conn.execute(update(drafts).where(drafts.c.id == by_field).values(status="approved"))
        conn.execute(update(drafts).where(drafts.c.id == by_status).values(status="approved"))
    assert "no sealed approval record" in _export_refused(staffed_store, by_field)
    assert "no sealed approval record" in _export_refused(staffed_store, by_status)
    report = verify_records(staffed_store, principal=OPERATOR)  # the audit check finds it too
    assert report.first_break and report.first_break.table == "drafts"
    assert report.first_break.row_id == by_field and "no sealed approval record" in report.first_break.problem
    # the genuine approval still exports
    ok = _approved(staffed_store)
    assert service.render_draft(staffed_store, ok, principal=who(staffed_store, "jdoe"), fmt="md").data


def test_approver_swapped_behind_the_triggers_is_refused(staffed_store: Store) -> None:
    draft_id = _approved(staffed_store)
    with staffed_store.begin() as conn:
        _lift(staffed_store, conn, "draft_versions")
        conn.execute(
            update(draft_versions).where(draft_versions.c.draft_id == draft_id).values(approved_by="bsmith")
        )
    assert "approver do(es) not match the sealed approval" in _export_refused(staffed_store, draft_id)
    report = verify_records(staffed_store, principal=OPERATOR)
    assert report.first_break and "approver do(es) not match" in report.first_break.problem


def test_edited_content_behind_the_triggers_is_refused(staffed_store: Store) -> None:
    draft_id = _pending(staffed_store)
    with staffed_store.begin() as conn:
        with pytest.raises(DBAPIError), conn.begin_nested():  # the database refuses it outright ...
            conn.execute(update(draft_versions).values(created_by="mallory"))
        _lift(staffed_store, conn, "draft_versions")  # ... so the attacker switches the guard off
        conn.execute(update(draft_versions).values(created_by="mallory"))
    assert "does not match its seal" in _export_refused(staffed_store, draft_id)
    report = verify_records(staffed_store, principal=OPERATOR)
    assert report.first_break and report.first_break.table == "draft_versions"
    assert "edited or forged" in report.first_break.problem


def test_audit_edit_deletion_and_truncation_are_found(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    _approved(staffed_store)
    assert verify_records(staffed_store, principal=jdoe).ok
    with staffed_store.begin() as conn:
        ids = conn.execute(select(audit_log.c.id, audit_log.c.chain_seq).order_by(audit_log.c.id)).all()
    # the triggers refuse all of it
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), staffed_store.begin() as conn:
            conn.execute(text(sql))
    if staffed_store.dialect == "postgresql":
        for table in ("audit_log", "draft_versions", "draft_reviews", "drafts", "chain_heads"):
            with pytest.raises(DBAPIError, match="TRUNCATE"), staffed_store.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
    # behind the triggers: an edit is found at its position
    first_id, first_seq = ids[1]
    with staffed_store.begin() as conn:
        _lift(staffed_store, conn, "audit_log")
        conn.execute(text("UPDATE audit_log SET actor = 'someone_else' WHERE id = :i"), {"i": first_id})
    report = verify_records(staffed_store, principal=jdoe)
    assert report.first_break and (report.first_break.seq, report.first_break.table) == (
        first_seq,
        "audit_log",
    )
    assert "edited or forged" in report.first_break.problem


def test_deleting_rows_in_the_middle_or_at_the_end_is_found(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    _approved(staffed_store)
    with staffed_store.begin() as conn:
        rows = conn.execute(
            select(audit_log.c.id, audit_log.c.chain_seq).order_by(audit_log.c.chain_seq)
        ).all()
        _lift(staffed_store, conn, "audit_log")
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": rows[1][0]})
    report = verify_records(staffed_store, principal=jdoe)
    assert report.first_break and "missing: deleted" in report.first_break.problem
    assert report.first_break.seq == rows[1][1] + 1 or report.first_break.seq == rows[2][1]


def test_removing_the_newest_records_is_found(staffed_store: Store) -> None:
    jdoe = who(staffed_store, "jdoe")
    _approved(staffed_store)
    with staffed_store.begin() as conn:
        last = conn.execute(select(audit_log.c.id).order_by(audit_log.c.chain_seq.desc()).limit(1)).scalar()
        assert conn.execute(select(audit_log.c.chain_seq).where(audit_log.c.id == last)).scalar() == (
            integrity.chain_length(conn)
        )
        _lift(staffed_store, conn, "audit_log")
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
    report = verify_records(staffed_store, principal=jdoe)
    assert report.first_break and "were removed" in report.first_break.problem
    # emptying every chained table is found too (the head remembers how long the chain was)
    with staffed_store.begin() as conn:
        for table in ("draft_reviews", "draft_versions", "audit_log"):
            _lift(staffed_store, conn, table)
            conn.execute(text(f"DELETE FROM {table}"))
    report = verify_records(staffed_store, principal=jdoe)
    assert report.first_break and "were removed" in report.first_break.problem


def test_a_forged_row_with_a_copied_seal_is_found(staffed_store: Store) -> None:
    _approved(staffed_store)
    with staffed_store.begin() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.chain_seq.desc()).limit(1)).mappings().one()
        values = {k: row[k] for k in row if k != "id"}
        values |= {"actor": "mallory", "chain_seq": row["chain_seq"] + 1, "chain_prev": row["chain_mac"]}
        conn.execute(insert(audit_log).values(**values))
    report = verify_records(staffed_store, principal=OPERATOR)
    assert report.first_break and report.first_break.seq == row["chain_seq"] + 1
    assert "edited or forged" in report.first_break.problem


def test_a_different_key_is_named_as_such(staffed_store: Store, settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = settings.model_copy(
        update={"chain_key_file": tmp_path / "other.key", "database_url": staffed_store.settings.database_url}
    )
    wrong = open_store(other)
    try:
        with pytest.raises(ChainKeyError, match="not the one the database was sealed with"):
            audit.record(wrong, actor="x", action="test")
        report = verify_records(staffed_store, principal=OPERATOR)
        assert report.ok  # nothing was written with the wrong key
    finally:
        wrong.dispose()


def test_operator_may_verify_but_a_technician_may_not(staffed_store: Store) -> None:
    assert verify_records(staffed_store, principal=OPERATOR).ok
    with pytest.raises(PermissionDenied):
        verify_records(staffed_store, principal=who(staffed_store, "bsmith"))


def test_concurrent_writers_never_fork_the_chain(staffed_store: Store) -> None:
    """Many threads append at once, round after round; the chain stays one line (bounded in time)."""
    jdoe, bsmith = who(staffed_store, "jdoe"), who(staffed_store, "bsmith")
    errors: list[BaseException] = []
    deadline = time.monotonic() + 20
    rounds = 0

    def worker(n: int) -> None:
        try:
            if n % 3 == 0:
                _pending(staffed_store)
            elif n % 3 == 1:
                audit.record(staffed_store, actor=bsmith.id, action="test.append", detail={"n": n})
            else:
                service.list_drafts(staffed_store, principal=jdoe)
                audit.record(staffed_store, actor=jdoe.id, action="test.append", detail={"n": n})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    while rounds < 8 and time.monotonic() < deadline:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        rounds += 1
    assert errors == []
    report = verify_records(staffed_store, principal=jdoe)
    assert report.ok, report.first_break
    with staffed_store.begin() as conn:
        seqs = sorted(conn.execute(select(audit_log.c.chain_seq)).scalars())
        assert len(seqs) == len(set(seqs))
        assert integrity.chain_length(conn) == report.records + 1  # + the verification itself


def test_cli_audit_verify_reports_the_first_broken_link(staffed_store: Store, capsys) -> None:  # type: ignore[no-untyped-def]
    if staffed_store.dialect != "sqlite":
        pytest.skip("the CLI test uses the data dir's SQLite database")
    _approved(staffed_store)
    args = ["--data-dir", str(staffed_store.data_dir), "audit", "verify"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("intact: ")
    with staffed_store.begin() as conn:
        _lift(staffed_store, conn, "audit_log")
        conn.execute(text("UPDATE audit_log SET outcome = 'denied' WHERE id = 2"))
    assert main(args) == 6
    out = capsys.readouterr().out
    assert out.startswith("BROKEN at position ") and "(audit_log row 2" in out and "edited" in out


def test_migration_seals_rows_written_before_it(settings: Settings, request) -> None:  # type: ignore[no-untyped-def]
    """An installation upgraded from main: its existing history gets a chain, and an approval made
    before the upgrade still exports."""
    from sqlalchemy import MetaData, Table

    from assistant.drafting.pipeline import compose
    from assistant.store import migrations

    for dialect in ("sqlite", "postgresql"):
        if dialect == "postgresql":
            from tests.conftest import PG_AVAILABLE

            if not PG_AVAILABLE:
                continue
            cfg = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
        else:
            cfg = settings
        store = open_store(cfg, migrate=False)
        try:
            legacy = [m for m in migrations.all_migrations() if not m[0].startswith("integrity_")]
            with store.begin() as conn:
                conn.execute(
                    text(
                        "CREATE TABLE schema_migrations (name VARCHAR(200) PRIMARY KEY, applied_at TIMESTAMP)"
                    )
                )
                for name, fn in legacy:
                    fn(conn)
                    conn.execute(
                        text("INSERT INTO schema_migrations VALUES (:n, :t)"),
                        {"n": name, "t": dt.datetime.now()},
                    )
            case = load_case(EXAMPLES / "pa-packet.yaml")
            content = compose("pa-packet", case, today=None)
            now = dt.datetime.now(dt.UTC)
            with store.begin() as conn:
                old = {
                    n: Table(n, MetaData(), autoload_with=conn)
                    for n in ("drafts", "draft_versions", "draft_reviews", "audit_log")
                }
                conn.execute(
                    text(
                        "INSERT INTO staff (id, name, role, active) VALUES ('jdoe', 'Jane Doe', 'pharmacist', 1)"
                    )
                )
                draft_id = conn.execute(
                    insert(old["drafts"]).values(
                        kind="pa-packet",
                        status="approved",
                        current_version=1,
                        created_by="jdoe",
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    insert(old["draft_versions"]).values(
                        draft_id=draft_id,
                        version=1,
                        case_data=case.model_dump(mode="json", exclude_defaults=True),
                        document=content.document.model_dump(mode="json"),
                        missing=content.missing,
                        warnings=content.warnings,
                        errors=content.errors,
                        content_sha256=content.document.content_sha256(),
                        created_by="jdoe",
                        created_at=now,
                        approved_by="jdoe",
                        approved_at=now + dt.timedelta(seconds=1),
                    )
                )
                conn.execute(
                    insert(old["draft_reviews"]).values(
                        draft_id=draft_id,
                        version=1,
                        action="approve",
                        actor="jdoe",
                        at=now + dt.timedelta(seconds=1, microseconds=7),
                    )
                )
                for i in range(3):
                    conn.execute(
                        insert(old["audit_log"]).values(
                            at=now + dt.timedelta(seconds=i),
                            actor="jdoe",
                            action=f"legacy.{i}",
                            outcome="ok",
                            detail={"i": i, "nested": {"when": "2026-01-01"}},
                        )
                    )
            assert "integrity_001_chain" in migrations.migrate(store)
            report = verify_records(store, principal=OPERATOR)
            assert report.ok and report.by_table == {"audit_log": 3, "draft_versions": 1, "draft_reviews": 1}
            jdoe = who(store, "jdoe")
            assert service.render_draft(store, draft_id, principal=jdoe, fmt="md").status == "approved"
            assert verify_records(store, principal=OPERATOR).ok
        finally:
            store.dispose()
        settings = settings.model_copy(update={"data_dir": settings.data_dir.parent / "pg"})
