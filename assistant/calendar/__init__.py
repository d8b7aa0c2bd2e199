"""Compliance calendar: obligations, recurrence, completions with evidence, PA tracking, digest, ICS.

Modules: ``models`` (pydantic types), ``schedule`` (pure recurrence), ``library`` (YAML parse and
import), ``service`` (occurrences, completions), ``ask`` (plain-language deadline questions),
``pa_tracking``, ``digest`` (text + Slack Block Kit) and ``ics`` (RFC 5545 export).
"""
