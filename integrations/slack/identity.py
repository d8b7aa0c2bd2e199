"""Who is clicking or asking: a Slack user id -> the staff member's principal, or a guest.

The directory is read on every request, so a role change or a removed person takes effect at once.
Permissions are never decided here: services check the principal this returns."""

from __future__ import annotations

from assistant.errors import NotFound
from assistant.principal import Principal, guest
from assistant.staff import find_by_slack_user, get_staff
from assistant.store import Store


def principal_for(store: Store, slack_user_id: str) -> Principal:
    member = find_by_slack_user(store, slack_user_id)
    return member.principal() if member else guest(slack_user_id)


def name_of(store: Store, principal_id: str) -> str:
    """A staff id as people read it ("Jane Doe"); system and unknown ids as they are."""
    try:
        return get_staff(store, principal_id).name
    except NotFound:
        return principal_id
