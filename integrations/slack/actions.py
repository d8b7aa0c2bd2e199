"""Every id the Slack app answers to, in one place: slash commands, events, button action ids and modal
callback ids. ``manifest.yaml`` declares the same names; ``tests/e2e/test_manifest.py`` checks that
whatever the app registers is declared there."""

from __future__ import annotations

# ---- slash commands -------------------------------------------------------------------------------
CMD_SOP = "/sop"
CMD_DRAFT = "/draft"
CMD_DEADLINES = "/deadlines"
CMD_DIGEST = "/digest"

# ---- events ---------------------------------------------------------------------------------------
EVENT_APP_MENTION = "app_mention"
EVENT_MESSAGE = "message"  # direct messages (message.im); assistant threads are routed by Bolt's Assistant
EVENT_THREAD_STARTED = "assistant_thread_started"
EVENT_THREAD_CONTEXT_CHANGED = "assistant_thread_context_changed"

# ---- buttons (block_actions) ----------------------------------------------------------------------
APPROVE = "draft_approve"
REQUEST_CHANGES = "draft_request_changes"
EDIT = "draft_edit"
DOWNLOAD_PDF = "draft_download_pdf"
DOWNLOAD_DOCX = "draft_download_docx"
HELPFUL = "feedback_helpful"
NOT_HELPFUL = "feedback_not_helpful"
SHARE_ANSWER = "sop_share"

DOWNLOAD_FORMATS = {DOWNLOAD_PDF: "pdf", DOWNLOAD_DOCX: "docx"}

# ---- modals (view_submission callback ids) --------------------------------------------------------
VIEW_NEW_DRAFT = "draft_new_submit"
VIEW_EDIT_DRAFT = "draft_edit_submit"
VIEW_REQUEST_CHANGES = "draft_request_changes_submit"
VIEW_APPROVE_OVERRIDE = "draft_approve_override_submit"

# input ids inside the modals
FIELD_PREFIX = "f:"  # a case field's block id is FIELD_PREFIX + its path, e.g. "f:patient.dob"
MORE_FACTS_PREFIX = "more:"  # the YAML blocks holding the case's lists (medications, labs ...)
REASON_BLOCK = "reason"
OVERRIDE_BLOCK = "override_reason"
INPUT = "value"
