"""The review queue: drafts with versions, pharmacist approval, audit of every look and change."""
