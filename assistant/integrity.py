"""Tamper evidence: draft versions, review events (approvals) and audit entries form one keyed chain.

Every row appended to ``audit_log``, ``draft_versions`` or ``draft_reviews`` gets the next position
in one chain (``chain_seq``), the seal of the record before it (``chain_prev``) and its own seal
(``chain_mac`` = HMAC-SHA256 over its table, position, predecessor's seal and content). The head of
the chain (length, last seal) sits in ``chain_heads``, sealed too. The key lives outside the database
(``<data-dir>/chain.key``, 0600, or ``RXDESK_CHAIN_KEY_FILE``), so someone who can write the database
but not read the key cannot make a record that verifies:

- an edited row no longer matches its seal;
- an inserted row has no valid seal, or takes a position another row holds;
- a deleted row leaves a gap in the positions (and the next row's ``chain_prev`` dangles);
- rows removed from the end (or a truncated table) leave the head pointing past the last record.

Appends are serialized so concurrent writers never fork the chain: on PostgreSQL the head row is
locked (``SELECT ... FOR UPDATE``) until the transaction commits; on SQLite the append starts with a
write to the head row, which takes the database's single write lock for the rest of the transaction.
Either way, the position and predecessor are read under the lock and the lock is held to commit.

What it does not defend against: someone holding both the database and the key, and replaying an
older copy of the whole database (keep the head's position in your backups' logs to catch that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import json
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from assistant.errors import RxdeskError

# The head of the chain: its length and last seal, sealed itself (created by the core migrations).
chain_heads = Table(
    "chain_heads",
    MetaData(),
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("mac", String(64), nullable=False),
    Column("head_mac", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

HEAD = "main"
GENESIS = "0" * 64
# What each chained table's seal covers. Mutable workflow columns (a version's approved_by/at, which
# are set once at approval) are covered by the sealed approval event they must match instead.
SEALED: dict[str, tuple[str, ...]] = {
    "audit_log": ("at", "actor", "action", "target", "outcome", "patient_ref", "detail"),
    "draft_versions": (
        "draft_id",
        "version",
        "case_data",
        "document",
        "missing",
        "warnings",
        "errors",
        "content_sha256",
        "created_by",
        "created_at",
    ),
    "draft_reviews": ("draft_id", "version", "action", "actor", "reason", "at", "content_sha256"),
}
CHAIN_COLUMNS = ("chain_seq", "chain_prev", "chain_mac")
# every chained table has a timestamp the migration orders pre-existing rows by
TIME_COLUMN = {"audit_log": "at", "draft_versions": "created_at", "draft_reviews": "at"}


class TamperDetected(RxdeskError):
    """A record does not match its seal (edited, forged, inserted or removed outside rxdesk)."""

    exit_code = 6
    default_code = "tampered"


class ChainKeyError(RxdeskError):
    """This installation's chain key is missing or is not the one the database was sealed with."""

    exit_code = 6
    default_code = "chain_key"


# ---- the key -------------------------------------------------------------------------------------

_KEYS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def load_key(path: Path) -> bytes:
    """The chain key at ``path``, created (32 random bytes, 0600) on first use."""
    from assistant.files import create_secret

    key = create_secret(Path(path))
    if len(key) < 32:
        raise ChainKeyError(f"the chain key {path} is damaged (expected 32 bytes, found {len(key)})")
    return key


def register_key(engine: Engine, key: bytes) -> None:
    """Remember which key seals rows written through ``engine`` (done by ``open_store``)."""
    _KEYS[engine] = key


def key_for(conn: Connection) -> bytes:
    try:
        return _KEYS[conn.engine]
    except KeyError:
        raise ChainKeyError("no chain key registered for this database connection") from None


def key_id(key: bytes) -> str:
    """A public fingerprint of the key: tells "wrong key" apart from "tampered rows"."""
    return hmac.new(key, b"rxdesk chain key id", hashlib.sha256).hexdigest()[:16]


# ---- seals ---------------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def row_mac(key: bytes, table: str, seq: int, prev: str, row: Mapping[str, Any]) -> str:
    content = {c: _norm(row.get(c)) for c in SEALED[table]}
    payload = json.dumps(
        {"table": table, "seq": seq, "prev": prev, "row": content},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, mac: str) -> str:
    return hmac.new(key, f"head|{HEAD}|{seq}|{mac}".encode(), hashlib.sha256).hexdigest()


# ---- appending -----------------------------------------------------------------------------------


def _lock_head(conn: Connection) -> Mapping[str, Any]:
    """Take the chain's lock (held until commit) and return the head."""
    if conn.dialect.name == "postgresql":
        # a stuck writer becomes an error after a while instead of a hang
        conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        head = (
            conn.execute(select(chain_heads).where(chain_heads.c.name == HEAD).with_for_update())
            .mappings()
            .first()
        )
    else:
        # SQLite: a write takes the database's write lock for the rest of the transaction
        conn.execute(update(chain_heads).where(chain_heads.c.name == HEAD).values(seq=chain_heads.c.seq))
        head = conn.execute(select(chain_heads).where(chain_heads.c.name == HEAD)).mappings().first()
    if head is None:
        raise TamperDetected("the tamper-evident chain has no head record: it was deleted")
    return head


def append(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """Insert ``values`` into the chained ``table`` as the chain's next record; returns the result."""
    key = key_for(conn)
    head = _lock_head(conn)
    if head["key_id"] != key_id(key):
        raise ChainKeyError(
            "this installation's chain key is not the one the database was sealed with "
            "(instances sharing a database must share the key file)"
        )
    seq = int(head["seq"]) + 1
    mac = row_mac(key, table.name, seq, head["mac"], values)
    try:
        result = conn.execute(
            insert(table).values(**values, chain_seq=seq, chain_prev=head["mac"], chain_mac=mac)
        )
    except IntegrityError as exc:
        if "chain_seq" not in str(exc.orig):
            raise
        # fail closed: someone wrote a record into the chain's next position behind rxdesk's back
        raise TamperDetected(
            f"position {seq} of the tamper-evident chain is already taken by a record written outside "
            "rxdesk; nothing more can be recorded until it is investigated"
        ) from None
    conn.execute(
        update(chain_heads)
        .where(chain_heads.c.name == HEAD)
        .values(seq=seq, mac=mac, head_mac=head_mac(key, seq, mac), updated_at=dt.datetime.now(dt.UTC))
    )
    return result


def install_head(conn: Connection, key: bytes, seq: int = 0, mac: str = GENESIS) -> None:
    conn.execute(
        insert(chain_heads).values(
            name=HEAD,
            seq=seq,
            mac=mac,
            head_mac=head_mac(key, seq, mac),
            key_id=key_id(key),
            updated_at=dt.datetime.now(dt.UTC),
        )
    )


# ---- verifying -----------------------------------------------------------------------------------


class ChainBreak(BaseModel):
    seq: int | None = None
    table: str | None = None
    row_id: int | None = None
    at: dt.datetime | None = None
    problem: str


class ChainReport(BaseModel):
    ok: bool
    records: int
    by_table: dict[str, int]
    head_seq: int | None
    first_break: ChainBreak | None = None


def _stream(conn: Connection, table: Table) -> Iterator[tuple[int, str, dict[str, Any]]]:
    cols = [table.c.id, *(table.c[c] for c in CHAIN_COLUMNS), *(table.c[c] for c in SEALED[table.name])]
    query = select(*cols).where(table.c.chain_seq.is_not(None)).order_by(table.c.chain_seq)
    for row in conn.execution_options(yield_per=2000).execute(query).mappings():
        yield int(row["chain_seq"]), table.name, dict(row)


def _when(table: str, row: Mapping[str, Any]) -> dt.datetime | None:
    value = row.get(TIME_COLUMN[table])
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def verify_chain(conn: Connection, key: bytes, tables: Mapping[str, Table]) -> ChainReport:
    """Walk the whole chain in order; report the first broken link (or that it is intact).

    ``tables``: every chained table by name (the modules that own them know which they are)."""
    by_table = {name: 0 for name in tables}
    head = conn.execute(select(chain_heads).where(chain_heads.c.name == HEAD)).mappings().first()
    head_seq = int(head["seq"]) if head else None

    def report(problem: str, **where: Any) -> ChainReport:
        return ChainReport(
            ok=False,
            records=sum(by_table.values()),
            by_table=by_table,
            head_seq=head_seq,
            first_break=ChainBreak(problem=problem, **where),
        )

    if head is None:
        return report("the chain's head record is missing (deleted)")
    if head["key_id"] != key_id(key):
        return report("this key is not the one the records were sealed with; verify with the right key file")
    expected, prev = 1, GENESIS
    streams = [_stream(conn, t) for t in tables.values()]
    for seq, name, row in heapq.merge(*streams, key=lambda r: r[0]):
        where = {"seq": seq, "table": name, "row_id": row["id"], "at": _when(name, row)}
        if seq < expected:
            return report(f"two records hold position {seq}: one was inserted outside rxdesk", **where)
        if seq > expected:
            gap = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
            return report(f"record(s) at position {gap} are missing: deleted", **where)
        if row["chain_prev"] != prev:
            return report("does not link to the record before it: a record was replaced or removed", **where)
        if not hmac.compare_digest(row_mac(key, name, seq, prev, row), row["chain_mac"] or ""):
            return report("content does not match its seal: the record was edited or forged", **where)
        by_table[name] += 1
        prev, expected = row["chain_mac"], expected + 1
    last = expected - 1
    if head_seq != last:
        if head_seq is not None and head_seq > last:
            missing = f"{last + 1}" if head_seq == last + 1 else f"{last + 1}-{head_seq}"
            return report(
                f"the chain ends at {last} but its head says {head_seq}: record(s) {missing} were removed"
            )
        return report(f"the chain has {last} records but its head says {head_seq}: the head was altered")
    if head["mac"] != prev or not hmac.compare_digest(head_mac(key, last, prev), head["head_mac"]):
        return report("the chain's head record was altered")
    for name, table in tables.items():
        stray = conn.execute(
            select(table.c.id).where(table.c.chain_seq.is_(None)).order_by(table.c.id).limit(1)
        ).scalar()
        if stray is not None:
            return report(
                "a record outside the chain: inserted directly into the database", table=name, row_id=stray
            )
    return ChainReport(ok=True, records=last, by_table=by_table, head_seq=head_seq)


def check_record(
    conn: Connection, table: Table, row: Mapping[str, Any], tables: Mapping[str, Table]
) -> str | None:
    """Check one chained row: its seal, and that its predecessor holds the seal it names.

    Returns the problem in words, or None. (The whole chain is checked by :func:`verify_chain`.)"""
    key = key_for(conn)
    seq = row.get("chain_seq")
    if seq is None or not row.get("chain_mac"):
        return "it has no seal: it was written directly into the database"
    if not hmac.compare_digest(
        row_mac(key, table.name, int(seq), row["chain_prev"] or "", row), row["chain_mac"]
    ):
        return "its content does not match its seal: it was edited or forged"
    if int(seq) == 1:
        return None if row["chain_prev"] == GENESIS else "it does not link to the start of the chain"
    holders = [
        conn.execute(select(t.c.chain_mac).where(t.c.chain_seq == int(seq) - 1)).scalars().all()
        for t in tables.values()
    ]
    macs = [m for found in holders for m in found]
    if macs != [row["chain_prev"]]:
        return "it does not link to the record before it"
    head_seq = conn.execute(select(chain_heads.c.seq).where(chain_heads.c.name == HEAD)).scalar()
    if head_seq is None or int(head_seq) < int(seq):
        return "it lies beyond the end of the chain"
    return None


def chain_length(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(chain_heads.c.seq), 0))).scalar() or 0)
