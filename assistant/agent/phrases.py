"""What the assistant says about an SOP answer's limits, the same on every surface (no markup).

The terminal and Slack lay answers out differently; these sentences read the same everywhere."""

from __future__ import annotations

NOT_COVERED = "Our SOPs don't cover this, so I won't guess. Please ask the pharmacist on duty."
CLINICAL = (
    "That is a clinical-judgment question, which the pharmacist has to answer. "
    "Please ask the pharmacist on duty; I have not answered it."
)
TENTATIVE = "I'm not sure our SOPs cover this exactly. The closest is below; check it fits your case."
TECH_FOOTER = "If anything here needs clinical judgment, check with the pharmacist on duty."
