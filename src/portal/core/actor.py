"""Who acts: built once per request (a dependency, `actor`), passed to domain writes.

Domain functions that change data take one `Actor` instead of a tail of
`actor_id=, ip=, portal_url=, practice=` keywords; the audit log and outgoing
mails read what they need from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.core.clock import utcnow

# Imported at run time, not only for type checkers: Litestar (msgspec) resolves the
# annotations of an injected `actor` when it builds a handler's arguments.
from portal.practice.info import PracticeInfo


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str
    ip: str
    portal_url: str
    practice: PracticeInfo | None

    @property
    def practice_name(self) -> str:
        """The practice's name for mails and pages; a neutral one before any practice exists."""
        return self.practice.name if self.practice else "Client portal"

    def today(self) -> date:
        """Today in the practice's time zone (UTC before any practice exists): the date a
        ledger line written now is posted on."""
        now = utcnow()
        return now.astimezone(self.practice.time_zone).date() if self.practice else now.date()

    @classmethod
    def system(cls, portal_url: str = "", practice: PracticeInfo | None = None) -> Actor:
        """A command or background job acting for nobody in particular."""
        return cls(user_id=None, role="system", ip="", portal_url=portal_url, practice=practice)
