"""The one family of domain errors. Domain code raises these; it never knows HTTP.

`handlers/errors.py` maps them to statuses in one place (Invalid 422, NotFound 404,
Conflict 409, Refused 403), and handlers that re-render a form in place read the
status from there too.

- `Invalid`: the input is wrong. `errors` maps a field's name to what the user
  reads beside it; `message` is the one line for the whole form (optional).
- `NotFound`: no such record for this user (someone else's id is the same thing).
- `Conflict`: the record's state forbids it now (already cancelled, slot taken).
- `Refused`: a rule of the practice forbids it for this user.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A refusal the user reads: `message`, and per field `errors`."""

    def __init__(self, message: str = "", errors: Mapping[str, str] | None = None) -> None:
        self.errors: dict[str, str] = dict(errors or {})
        self.message = message or next(iter(self.errors.values()), "")
        super().__init__(self.message)

    @property
    def messages(self) -> list[str]:
        """Every message, for a page that lists them: the fields' or else the one."""
        return list(self.errors.values()) or [self.message]


class Invalid(DomainError):
    """The input is wrong: say what, field by field."""


class NotFound(DomainError):
    """No such record within the actor's reach."""


class Conflict(DomainError):
    """The record's present state does not allow this."""


class Refused(DomainError):
    """A rule forbids this for this actor."""


def unknown_keys(table: Mapping, allowed: set[str], where: str, *, listed: str = "known") -> str:
    """What to tell the author of an import file whose `table` holds keys not in `allowed`
    ("" when it holds none): every loader refuses a key it does not know, never ignores it."""
    extra = sorted(set(table) - allowed)
    if not extra:
        return ""
    return (
        f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} "
        f"({listed}: {', '.join(sorted(allowed))})"
    )
