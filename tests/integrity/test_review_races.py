"""Finding 3: two people acting on one draft at the same moment, on real SQLite and PostgreSQL.

Each race runs many times in a loop (bounded by a round count and a time budget, never asserted
on): exactly one action wins, the loser gets a one-line "draft N was already ... by X at T", the
history shows only the winner, and through the CLI the loser sees that line and no traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from assistant import audit
from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.errors import Conflict, RxdeskError
from assistant.review import service
from assistant.review.service import Status
from assistant.store import Store
from tests.conftest import who

EXAMPLES = REPO_ROOT / "knowledge" / "drafting" / "examples"
ROUNDS = 12
BUDGET_S = 40.0  # per race kind; the loop stops early when it runs out (never a test failure)
LOSER = re.compile(
    r"^draft \d+ was already (approved|discarded|edited) by (jdoe|bsmith) at \d{4}-\d\d-\d\d \d\d:\d\d UTC"
    r"( \(now version \d+\); look at it again)?$"
)


def _race(a: Callable[[], Any], b: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Start ``a`` and ``b`` at the same instant; return [(ok|error, value)] in (a, b) order."""
    barrier = threading.Barrier(2)
    out: list[tuple[str, Any]] = [("", None), ("", None)]

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = ("ok", fn())
        except RxdeskError as exc:
            out[i] = ("error", exc)
        except BaseException as exc:  # a traceback in real life: the test reports it
            out[i] = ("crash", exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def _new_draft(store: Store) -> int:
    case = load_case(EXAMPLES / "pa-packet.yaml")
    return service.create_draft(store, "pa-packet", case, principal=who(store, "bsmith")).draft_id


def _rounds() -> range:
    return range(ROUNDS)


def _check(store: Store, draft_id: int, results: list[tuple[str, Any]], names: tuple[str, str]) -> str:
    kinds = [r[0] for r in results]
    assert "crash" not in kinds, results
    assert sorted(kinds) == ["error", "ok"], results  # exactly one wins
    winner = names[kinds.index("ok")]
    loser_exc = results[kinds.index("error")][1]
    assert isinstance(loser_exc, Conflict), loser_exc
    assert LOSER.match(loser_exc.message), loser_exc.message
    assert "\n" not in loser_exc.message
    view = service.get_draft(store, draft_id, principal=who(store, "jdoe"))
    decisive = [e.action for e in view.history if e.action in ("approve", "discard", "edit")]
    assert decisive == [winner], (decisive, winner)
    expected = {"approve": Status.APPROVED, "discard": Status.DISCARDED, "edit": Status.DRAFT}[winner]
    assert view.status is expected
    assert view.version == (2 if winner == "edit" else 1)
    done = [e for e in audit.entries(store, target=f"draft:{draft_id}") if e.action.startswith("draft.")]
    succeeded = {e.action for e in done if e.outcome == "ok"} - {"draft.create", "draft.view"}
    assert succeeded == {f"draft.{winner}"}
    return winner


@pytest.mark.parametrize(
    "pair", [("approve", "discard"), ("approve", "approve"), ("edit", "approve")], ids="-vs-".join
)
def test_concurrent_review_actions_have_one_winner(staffed_store: Store, pair: tuple[str, str]) -> None:
    jdoe, bsmith = who(staffed_store, "jdoe"), who(staffed_store, "bsmith")
    case = load_case(EXAMPLES / "pa-packet.yaml")
    actions = {
        "approve": lambda d: service.approve(staffed_store, d, principal=jdoe),
        "discard": lambda d: service.discard(staffed_store, d, principal=bsmith),
        "edit": lambda d: service.edit_draft(staffed_store, d, case, principal=bsmith),
    }
    winners: list[str] = []
    deadline = time.monotonic() + BUDGET_S
    for _ in _rounds():
        if time.monotonic() > deadline and len(winners) >= 3:
            break
        draft_id = _new_draft(staffed_store)
        results = _race(
            lambda d=draft_id: actions[pair[0]](d),  # type: ignore[misc]
            lambda d=draft_id: actions[pair[1]](d),  # type: ignore[misc]
        )
        winners.append(_check(staffed_store, draft_id, results, pair))
    assert len(winners) >= 3


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def test_losing_cli_user_sees_one_line_and_no_traceback(staffed_store: Store) -> None:
    env = {**os.environ, "RXDESK_DATA_DIR": str(staffed_store.data_dir)}
    if staffed_store.settings.database_url:
        env["RXDESK_DATABASE_URL"] = staffed_store.settings.database_url
    for _ in range(3):
        draft_id = str(_new_draft(staffed_store))
        procs = [
            _cli(env, "review", "approve", draft_id, "--as", "jdoe"),
            _cli(env, "review", "discard", draft_id, "--as", "bsmith"),
        ]
        outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        codes = sorted(code for code, _ in outcomes)
        assert codes == [0, 5], outcomes
        loser = next(err for code, err in outcomes if code == 5)
        assert "Traceback" not in loser
        lines = loser.strip().splitlines()
        assert len(lines) == 1 and LOSER.match(lines[0].removeprefix("error: ")), loser


def test_export_and_audit_check_during_an_approval_never_cry_tamper(staffed_store: Store) -> None:
    """The draft row, its version and its approval are read by separate statements; an approval
    committing between them is a race, not tampering (found by the approve-vs-approve loop)."""
    from assistant.audit_query import verify_records
    from assistant.principal import OPERATOR

    jdoe = who(staffed_store, "jdoe")
    deadline = time.monotonic() + BUDGET_S
    seen: set[str] = set()
    for n in range(ROUNDS):
        if n >= 3 and time.monotonic() > deadline:
            break
        draft_id = _new_draft(staffed_store)
        results = _race(
            lambda d=draft_id: service.approve(staffed_store, d, principal=jdoe),  # type: ignore[misc]
            lambda d=draft_id: service.render_draft(staffed_store, d, principal=jdoe, fmt="md"),  # type: ignore[misc]
        )
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        seen.add(results[1][1].status.value)
        assert verify_records(staffed_store, principal=OPERATOR).ok
    assert seen <= {"draft", "approved"}
