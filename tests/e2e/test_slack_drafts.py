"""Drafts in Slack end to end: /draft opens a prefilled case form, the card's buttons decide through the
review service as the clicking person, decisions replace the buttons, nothing happens twice."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from assistant import audit
from assistant.config import REPO_ROOT
from assistant.drafting.case import load_case
from assistant.review.service import Status, create_draft, get_draft
from integrations.slack import actions as ids
from integrations.slack.modals import draft_form
from tests.conftest import who
from tests.e2e.conftest import PHARMACY, Harness, form_values
from tests.e2e.fake_slack import Call, FakeSlack, action_ids, text_of

SHORTHAND = (
    "PA for Mrs. Johnson's Ozempic, T2DM, last A1c 8.7% on 10/2, failed metformin 1000 bid x6mo GI upset"
)
EXAMPLE = load_case(REPO_ROOT / "knowledge" / "drafting" / "examples" / "pa-packet.yaml")
CARD_CHANNEL = "CPHARMACY"
CARD_TS = "1700000999.000100"


def opened_view(slack: FakeSlack, n: int = 1) -> dict[str, Any]:
    calls = slack.wait_for(lambda: slack.to("views.open")[n - 1 :])
    return calls[0].params["view"] if isinstance(calls[0].params["view"], dict) else calls[0].json("view")


def complete_draft(h: Harness) -> int:
    """A draft with every required fact (as if all typed into the form), by the technician."""
    return create_draft(h.store, "pa-packet", EXAMPLE, principal=who(h.store, "bsmith")).draft_id


def card_updates(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.to("chat.update") if c.params["ts"] == CARD_TS]


def approvals(h: Harness) -> list[audit.AuditEntry]:
    """Approval attempts (a refusal is audited before the draft is looked at, so without a target)."""
    return audit.entries(h.store, action="draft.approve")


def test_draft_command_opens_a_prefilled_form_and_posts_the_card(harness: Harness, slack: FakeSlack) -> None:
    status, _ = harness.command("/draft", f"pa-packet {SHORTHAND}", "UTECH1", channel="CTECHS")
    assert status == 200
    view = opened_view(slack)
    prefilled = {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"
    }
    assert prefilled["f:patient.name"] == "Mrs. Johnson"
    assert prefilled["f:request.drug"] == "Ozempic (semaglutide)"
    # "T2DM" does not say which E11 code: the form asks instead of choosing E11.9 ("without complications")
    assert prefilled["f:request.diagnosis_icd10"] is None
    assert prefilled["f:patient.dob"] is None  # never invented: left for someone to supply
    assert "metformin" in prefilled["more:0"] and "8.7" in prefilled["more:0"]

    # a bad date is shown under its field, and nothing is stored
    status, body = harness.submit(view, form_values(view, {"f:patient.dob": "04/17/52"}), "UTECH1")
    assert status == 200 and b"f:patient.dob" in body and b"YYYY-MM-DD" in body

    status, body = harness.submit(view, form_values(view, {"f:patient.dob": "1952-04-17"}), "UTECH1")
    assert status == 200 and body in (b"", b"{}")

    def cards() -> list[Call]:
        return [c for c in slack.to("chat.postMessage") if "Draft #" in (c.params.get("text") or "")]

    slack.wait_for(lambda: len(cards()) >= 2)
    harness.settle()
    by_channel = {c.params["channel"]: c for c in cards()}
    assert set(by_channel) == {"CTECHS", PHARMACY}  # a technician's draft also goes to the pharmacists
    card = by_channel["CTECHS"].params["blocks"]
    shown = text_of(card)
    assert "Prior authorization request" in shown and "Missing facts" in shown and "member ID" in shown
    assert action_ids(card) == [
        ids.APPROVE,
        ids.REQUEST_CHANGES,
        ids.EDIT,
        ids.DOWNLOAD_PDF,
        ids.DOWNLOAD_DOCX,
    ]
    draft = get_draft(harness.store, 1, principal=who(harness.store, "jdoe"))
    assert draft.patient_ref and draft.status is Status.DRAFT

    # the same submission replayed creates nothing more
    status, _ = harness.submit(view, form_values(view, {"f:patient.dob": "1952-04-17"}), "UTECH1")
    harness.settle()
    assert status == 200 and len(cards()) == 2
    assert len(audit.entries(harness.store, action="draft.create")) == 1


def test_a_technician_cannot_draft_a_soap_note(harness: Harness, slack: FakeSlack) -> None:
    harness.command("/draft", "mtm-note for Mr. Lee", "UTECH1")
    [note] = slack.wait_for(lambda: slack.to("response_url"))
    harness.settle()
    assert "technician" in note.params["text"] and "pharmacist" in note.params["text"]
    assert not slack.to("views.open")
    denied = audit.entries(harness.store, action="draft.create")
    assert denied and denied[0].outcome == "denied" and denied[0].actor == "bsmith"


def test_technician_approve_is_refused_and_nothing_changes(harness: Harness, slack: FakeSlack) -> None:
    draft_id = complete_draft(harness)
    assert (
        harness.click(
            ids.APPROVE, f"{draft_id}:pa-packet", "UTECH1", channel=CARD_CHANNEL, message_ts=CARD_TS
        )
        == 200
    )
    [note] = slack.wait_for(lambda: slack.to("chat.postEphemeral"))
    harness.settle()
    assert note.params["user"] == "UTECH1" and "only a pharmacist can approve" in note.params["text"]
    assert not card_updates(slack)  # the card keeps its buttons
    assert get_draft(harness.store, draft_id, principal=who(harness.store, "jdoe")).status is Status.DRAFT
    [entry] = approvals(harness)
    assert (entry.actor, entry.outcome) == ("bsmith", "denied")


def test_pharmacist_approve_replaces_the_buttons_once(harness: Harness, slack: FakeSlack) -> None:
    draft_id = complete_draft(harness)
    value = f"{draft_id}:pa-packet"
    assert (
        harness.click(
            ids.APPROVE, value, "UPHARM1", channel=CARD_CHANNEL, message_ts=CARD_TS, trigger_id="t.1"
        )
        == 200
    )
    [update] = slack.wait_for(lambda: card_updates(slack))
    harness.settle()
    blocks = update.params["blocks"]
    assert "Approved by Jane Doe at <!date^" in text_of(blocks)
    assert ids.APPROVE not in action_ids(blocks) and ids.EDIT not in action_ids(blocks)
    assert action_ids(blocks) == [ids.DOWNLOAD_PDF, ids.DOWNLOAD_DOCX]
    [entry] = approvals(harness)
    assert (entry.actor, entry.outcome) == ("jdoe", "ok")

    # the same click replayed: ignored; a second, real click: told it is done, nothing changes
    harness.click(ids.APPROVE, value, "UPHARM1", channel=CARD_CHANNEL, message_ts=CARD_TS, trigger_id="t.1")
    harness.settle()
    assert not slack.to("chat.postEphemeral")
    harness.click(ids.APPROVE, value, "UPHARM1", channel=CARD_CHANNEL, message_ts=CARD_TS, trigger_id="t.2")
    [note] = slack.wait_for(lambda: slack.to("chat.postEphemeral"))
    harness.settle()
    assert "already approved by jdoe" in note.params["text"]
    assert len(approvals(harness)) == 1
    view = get_draft(harness.store, draft_id, principal=who(harness.store, "jdoe"))
    assert [e.action for e in view.history] == ["approve"]


def test_approving_with_missing_facts_asks_for_a_reason(harness: Harness, slack: FakeSlack) -> None:
    draft_id = create_draft(
        harness.store,
        "pa-packet",
        EXAMPLE.model_copy(update={"insurance": EXAMPLE.insurance.model_copy(update={"pcn": None})}),
        principal=who(harness.store, "jdoe"),
    ).draft_id
    harness.click(ids.APPROVE, f"{draft_id}:pa-packet", "UPHARM1", channel=CARD_CHANNEL, message_ts=CARD_TS)
    view = opened_view(slack)
    assert view["callback_id"] == ids.VIEW_APPROVE_OVERRIDE and "PCN" in text_of(view["blocks"])
    status, body = harness.submit(
        view,
        {ids.OVERRIDE_BLOCK: {ids.INPUT: {"type": "plain_text_input", "value": "plan has no PCN"}}},
        "UPHARM1",
    )
    assert status == 200 and b"errors" not in body
    [update] = slack.wait_for(lambda: card_updates(slack))
    assert "Approved by Jane Doe" in text_of(update.params["blocks"]) and "plan has no PCN" in text_of(
        update.params["blocks"]
    )


def test_download_uploads_the_pdf(harness: Harness, slack: FakeSlack) -> None:
    draft_id = complete_draft(harness)
    harness.click(
        ids.DOWNLOAD_PDF, f"{draft_id}:pa-packet", "UTECH1", channel=CARD_CHANNEL, message_ts=CARD_TS
    )
    [done] = slack.wait_for(lambda: slack.to("files.completeUploadExternal"))
    harness.settle()
    [url] = slack.to("files.getUploadURLExternal")
    assert url.params["filename"] == f"draft-{draft_id}-v1-pa-packet.pdf"
    [file] = done.json("files")
    data = slack.uploaded(file["id"])
    assert data.startswith(b"%PDF") and int(url.params["length"]) == len(data)
    assert done.params["channel_id"] == CARD_CHANNEL and done.params["thread_ts"] == CARD_TS
    [export] = audit.entries(harness.store, action="draft.export", target=f"draft:{draft_id}")
    assert export.actor == "bsmith" and export.detail["sha256"] == hashlib.sha256(data).hexdigest()


def test_edit_saves_a_new_version_and_updates_the_card(harness: Harness, slack: FakeSlack) -> None:
    draft_id = create_draft(
        harness.store, "pa-packet", EXAMPLE, principal=who(harness.store, "bsmith")
    ).draft_id
    harness.click(ids.EDIT, f"{draft_id}:pa-packet", "UTECH1", channel=CARD_CHANNEL, message_ts=CARD_TS)
    view = opened_view(slack)
    values = form_values(view, {"f:insurance.member_id": "PHX999999"})
    status, body = harness.submit(view, values, "UTECH1")
    assert status == 200 and b"errors" not in body
    [update] = slack.wait_for(lambda: card_updates(slack))
    assert "version 2" in text_of(update.params["blocks"])
    case_after = get_draft(harness.store, draft_id, principal=who(harness.store, "jdoe"))
    assert case_after.version == 2 and "PHX999999" in case_after.markdown
    assert "Margaret Johnson" in case_after.markdown  # every other fact survived the form


def test_request_changes_is_refused_to_technicians_and_sends_back_for_pharmacists(
    harness: Harness, slack: FakeSlack
) -> None:
    draft_id = complete_draft(harness)
    value = f"{draft_id}:pa-packet"
    harness.click(ids.REQUEST_CHANGES, value, "UTECH1", channel=CARD_CHANNEL, message_ts=CARD_TS)
    [note] = slack.wait_for(lambda: slack.to("chat.postEphemeral"))
    harness.settle()
    assert "only a pharmacist reviews drafts" in note.params["text"] and not slack.to("views.open")
    assert audit.entries(harness.store, action="draft.request_changes")[0].outcome == "denied"

    harness.click(ids.REQUEST_CHANGES, value, "UPHARM1", channel=CARD_CHANNEL, message_ts=CARD_TS)
    view = opened_view(slack)
    reason = {
        ids.REASON_BLOCK: {ids.INPUT: {"type": "plain_text_input", "value": "add the prescriber's fax"}}
    }
    status, _ = harness.submit(view, reason, "UPHARM1")
    assert status == 200
    [update] = slack.wait_for(lambda: card_updates(slack))
    blocks = update.params["blocks"]
    assert "Changes requested by Jane Doe" in text_of(blocks) and "prescriber's fax" in text_of(blocks)
    assert action_ids(blocks) == [ids.EDIT, ids.DOWNLOAD_PDF, ids.DOWNLOAD_DOCX]


@pytest.mark.parametrize("kind", ["pa-packet", "mtm-cmr", "mtm-note", "pa-appeal", "prescriber-letter"])
def test_every_example_case_survives_the_form(kind: str) -> None:
    """Whatever the form shows, submitted unchanged, is the same case (no fact dropped or changed)."""
    from integrations.slack.modals import case_from_form

    case = load_case(REPO_ROOT / "knowledge" / "drafting" / "examples" / f"{kind}.yaml")
    view = draft_form(kind, case, callback_id="x", title="t", submit="s", meta={})
    assert len(view["blocks"]) <= 100
    assert case_from_form(kind, form_values(view)) == case
