"""Shared fixtures: a temp data dir, real SQLite and real PostgreSQL stores, staff."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from assistant.config import Settings
from assistant.store import Store, open_store

# CI must not fail on a counterexample nobody has seen locally: same examples on every CI run.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PG_URL = os.environ.get("RXDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

STAFF_YAML = """\
staff:
  - id: jdoe
    name: Jane Doe
    role: pharmacist
    site: main
    slack_user_id: UPHARM1
    credentials:
      - {type: pharmacist_license, number: RPH-12345, expires: 2027-03-31}
      - {type: bls, number: BLS-9, expires: 2026-12-15}
  - id: bsmith
    name: Bob Smith
    role: technician
    site: main
    slack_user_id: UTECH1
    credentials:
      - {type: ptcb_cpht, number: "123456", expires: 2027-01-31}
  - id: aadmin
    name: Alex Admin
    role: admin
    site: main
    slack_user_id: UADMIN1
"""


@pytest.fixture(scope="session")
def shipped_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped SOP manual indexed once with the real bundled model, through the CLI."""
    from assistant.cli import main
    from assistant.config import REPO_ROOT

    data_dir = tmp_path_factory.mktemp("shipped") / "data"
    assert main(["--data-dir", str(data_dir), "ingest", str(REPO_ROOT / "knowledge" / "sops")]) == 0
    return data_dir


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


PG_AVAILABLE = _pg_available()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def sqlite_store(settings: Settings) -> Iterator[Store]:
    store = open_store(settings)
    yield store
    store.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL `test` database, dropped afterwards."""
    if not PG_AVAILABLE:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"rxdesk_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Store]:
    """The same tests against a real SQLite file and the real local PostgreSQL."""
    if request.param == "sqlite":
        s = open_store(settings)
    else:
        url = request.getfixturevalue("pg_url")
        s = open_store(settings.model_copy(update={"database_url": url}))
    yield s
    s.dispose()


@pytest.fixture
def staff_file(tmp_path: Path) -> Path:
    path = tmp_path / "staff.yaml"
    path.write_text(STAFF_YAML)
    return path


@pytest.fixture
def staffed_store(store: Store, staff_file: Path) -> Store:
    from assistant.principal import OPERATOR
    from assistant.staff import import_staff

    import_staff(store, staff_file, principal=OPERATOR)
    return store


def who(store: Store, staff_id: str):  # type: ignore[no-untyped-def]
    """The principal of a staff member (tests act as real people)."""
    from assistant.staff import get_staff

    return get_staff(store, staff_id).principal()
