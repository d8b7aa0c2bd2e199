from __future__ import annotations

from pathlib import Path

import pytest

from assistant.sops.decision import DecisionModel
from assistant.sops.index import SopIndex
from assistant.sops.search import Retriever
from tests.fakes import HashingEmbedding

SOP_PA = """---
id: SOP-FIN-001
title: Prior Authorization Workflow
version: "2.1"
effective: 2026-01-15
owner: PIC
---
# SOP-FIN-001 — Prior Authorization Workflow

## Purpose
How we handle a prior authorization after a claim rejects.

## Procedure for a new PA request
1. Capture the reject code and the plan identifiers (BIN, PCN, group).
2. The pharmacist decides between a formulary alternative and a PA.
3. Start the electronic PA the same day or fax the prescriber.
4. Follow up at 24 hours for expedited requests and 72 hours for standard ones.

## Reject code table
| Code | Meaning | Technician action |
|---|---|---|
| 75 | Prior authorization required | Start the PA under this SOP |
| 79 | Refill too soon | Note the next fill date |
"""

SOP_VAC = """---
id: VAC-001
title: Vaccine Storage Temperatures
version: "1.0"
---
# VAC-001 Vaccine Storage Temperatures

## Daily refrigerator check
Read the minimum and maximum temperature of the vaccine refrigerator at the start of each workday.
The refrigerator must stay between 2 and 8 degrees Celsius.

## Temperature excursion steps
1. Label the vaccines do not use and keep them refrigerated.
2. Call the manufacturer with the lot numbers and write down the guidance.
3. Tell the pharmacist on duty.
"""

SOP_CS = """# CS-002 Controlled Substance Loss

## Reporting a theft or significant loss
Notify the DEA within one business day of discovering a theft or significant loss of a
controlled substance such as oxycodone. File DEA Form 106 within 45 days.
"""


@pytest.fixture
def sop_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sops"
    d.mkdir()
    (d / "SOP-FIN-001-prior-auth.md").write_text(SOP_PA)
    (d / "vaccines.md").write_text(SOP_VAC)
    (d / "CS-002 loss.txt").write_text(SOP_CS)
    return d


@pytest.fixture
def fake_index(tmp_path: Path, sop_dir: Path) -> SopIndex:
    index = SopIndex(tmp_path / "index", embedding=HashingEmbedding())
    index.ingest([sop_dir], count_tokens=lambda t: int(len(t.split()) * 1.3) + 1)
    return index


@pytest.fixture
def fake_retriever(fake_index: SopIndex) -> Retriever:
    return Retriever(fake_index, decision=DecisionModel.cosine_only(0.3))
