"""Permission checks for services: one helper decides, and audits every refusal the same way.

Services call :func:`authorize` (or are wrapped by :func:`guarded`) with the asking
:class:`~assistant.principal.Principal`. A refusal is written to the audit log (outcome ``denied``)
in its own transaction, so it stays on record even when the caller's transaction rolls back, and
then raised as :class:`~assistant.errors.PermissionDenied` with a one-line reason.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from assistant import audit
from assistant.errors import PermissionDenied
from assistant.principal import Principal
from assistant.roles import Action, SystemRole, can, describe, why_not
from assistant.store import Store

F = TypeVar("F", bound=Callable[..., Any])


ActionRule = Action | Callable[[dict[str, Any]], Action]


@dataclass(frozen=True)
class Guard:
    """What a guarded service function requires (read by the permission tests).

    ``action`` is an :class:`Action`, or a function of the call's bound arguments that returns one
    (creating a SOAP note needs more than creating a PA packet)."""

    action: ActionRule
    event: str

    def resolve(self, arguments: dict[str, Any]) -> Action:
        return self.action if isinstance(self.action, Action) else self.action(arguments)


def _require_principal(principal: object) -> Principal:
    if not isinstance(principal, Principal):
        raise PermissionDenied(
            "nobody is named as the person asking; every request needs a person or a system principal",
            code="no_principal",
        )
    return principal


def allowed(principal: Principal, action: Action) -> bool:
    return can(principal.role, action)


def deny(
    store: Store,
    principal: Principal,
    action: Action,
    *,
    event: str,
    target: str | None = None,
    patient_ref: str | None = None,
    reason: str | None = None,
) -> PermissionDenied:
    """Record a refusal and return the error to raise (for checks that go beyond the matrix)."""
    audit.record(
        store,
        actor=principal.id,
        action=event,
        target=target,
        outcome="denied",
        patient_ref=patient_ref,
        detail={"role": principal.role.value, "needs": action.value},
    )
    why = reason or why_not(principal.role, action)
    # the operator is refused because nobody is named: adapters offer a way to name oneself
    code = "needs_person" if principal.role is SystemRole.OPERATOR else "permission_denied"
    return PermissionDenied(
        f"{principal.label} may not {describe(action)}: {why}", code=code, field="principal"
    )


def authorize(
    store: Store,
    principal: object,
    action: Action,
    *,
    event: str,
    target: str | None = None,
    patient_ref: str | None = None,
) -> Principal:
    """Return the principal if the matrix allows ``action``; otherwise audit and raise."""
    who = _require_principal(principal)
    if not can(who.role, action):
        raise deny(store, who, action, event=event, target=target, patient_ref=patient_ref)
    return who


def guarded(action: ActionRule, event: str) -> Callable[[F], F]:
    """Wrap a service ``fn(store, ..., *, principal, ...)`` with the matrix check for ``action``.

    The function must take ``store`` as its first parameter and ``principal`` as a keyword-only
    parameter without a default, so a call that forgets it fails before anything happens.
    Checks that depend on the data (a draft's kind, whose credential it is) stay in the function
    and use :func:`authorize` / :func:`deny`.
    """

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        p = sig.parameters.get("principal")
        if not params or params[0].name != "store":
            raise TypeError(f"{fn.__qualname__}: a guarded service takes the store first")
        if p is None or p.kind is not inspect.Parameter.KEYWORD_ONLY or p.default is not p.empty:
            raise TypeError(f"{fn.__qualname__}: 'principal' must be keyword-only with no default")

        guard = Guard(action=action, event=event)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            _require_principal(bound.arguments["principal"])
            needed = guard.resolve(bound.arguments)
            authorize(bound.arguments["store"], bound.arguments["principal"], needed, event=event)
            return fn(*args, **kwargs)

        wrapper.__rxdesk_guard__ = guard  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def guard_of(fn: Callable[..., Any]) -> Guard | None:
    return getattr(fn, "__rxdesk_guard__", None)
