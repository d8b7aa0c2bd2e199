"""Drafts for pharmacist review: the case record, code-set checks, document kinds and renderers.

Nothing here touches the store; :mod:`assistant.review` keeps drafts, versions and approvals.
"""
