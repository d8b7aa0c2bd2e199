"""Who is asking: a staff member with their role, or one of three explicit system principals.

Every service call that changes state or reads patient data carries a :class:`Principal`; there is
no "nobody". Adapters build it (the CLI from ``--as``, Slack from the user's id, jobs as the
scheduler) and never decide permissions themselves: services ask :mod:`assistant.access`.
System principal ids contain a colon, which staff ids cannot, so they never collide with a person.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from assistant.roles import AnyRole, Role, SystemRole


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # staff id, or "system:operator", "system:scheduler", "guest:<slack user id>"
    role: Role | SystemRole
    name: str
    site: str | None = None
    slack_user_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return isinstance(self.role, Role)

    @property
    def label(self) -> str:
        """How the asker appears in messages: "Jane Doe (pharmacist)", "the local operator"."""
        return f"{self.name} ({self.role.value})" if self.is_staff else self.name

    def has_role(self, *roles: AnyRole) -> bool:
        return self.role in roles


OPERATOR = Principal(id="system:operator", role=SystemRole.OPERATOR, name="the local operator")
SCHEDULER = Principal(id="system:scheduler", role=SystemRole.SCHEDULER, name="the scheduler")


def guest(slack_user_id: str) -> Principal:
    """A Slack user who is not in the staff directory (SOP questions only)."""
    return Principal(
        id=f"guest:{slack_user_id}",
        role=SystemRole.GUEST,
        name="a guest",
        slack_user_id=slack_user_id,
    )
