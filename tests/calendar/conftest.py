"""Fixtures for the compliance calendar: a small obligations file imported into a staffed store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.calendar.library import import_library
from assistant.principal import OPERATOR
from assistant.store import Store

LIBRARY_YAML = """\
sites:
  - {id: main, name: Main Street Pharmacy, timezone: America/Chicago, slack_channel: "C0MAIN"}
  - {id: west, name: West Side Pharmacy, timezone: America/Los_Angeles}
obligations:
  - id: dea-registration
    title: DEA registration renewal
    applies_to: site
    owner: pic
    citation: 21 CFR 1301.13
    schedule: {rrule: "FREQ=YEARLY;INTERVAL=3", start: 2024-05-31}
    remind_days: [90, 60, 30]
    evidence: DEA registration certificate
  - id: biennial-inventory
    title: Controlled substance biennial inventory
    applies_to: site
    owner: pic
    citation: 21 CFR 1304.11
    schedule: {every: P2Y, first_due: 2026-03-01}
    remind_days: [60, 14]
    evidence: Signed inventory
  - id: form-106-loss
    title: DEA Form 106 for the loss found 2026-11-20
    applies_to: site
    schedule: {once: 2027-01-04}
  - id: leap-audit
    title: Leap day audit
    applies_to: site
    owner: admin
    citation: Internal policy
    schedule: {rrule: "FREQ=YEARLY", start: 2024-02-29}
    remind_days: [7]
  - id: month-end-check
    title: Month end reconciliation
    applies_to: site
    owner: technician
    schedule: {rrule: "FREQ=MONTHLY", start: 2026-01-31}
    remind_days: [3]
  - id: pharmacist-ce
    title: Pharmacist CE complete
    applies_to: staff:pharmacist
    owner: pharmacist
    citation: State board CE rules
    schedule: {rrule: "FREQ=YEARLY;INTERVAL=2", start: 2024-11-30}
    remind_days: [120, 30]
  - id: pharmacist-license
    title: Pharmacist license renewal
    applies_to: staff:pharmacist
    credential: pharmacist_license
    owner: pharmacist
    citation: State pharmacy practice act
    schedule: {rrule: "FREQ=YEARLY;INTERVAL=2", start: 2024-12-31}
    remind_days: [120, 60, 30]
    evidence: License verification printout
credential_reminders:
  pharmacist_license: [120, 60, 30]
  default: [60, 30]
"""

SINCE = date(2026, 1, 1)


@pytest.fixture
def library_file(tmp_path: Path) -> Path:
    path = tmp_path / "obligations.yaml"
    path.write_text(LIBRARY_YAML)
    return path


@pytest.fixture
def cal_store(staffed_store: Store, library_file: Path) -> Store:
    import_library(staffed_store, library_file, principal=OPERATOR, since=SINCE)
    return staffed_store
