"""Counts beside left-menu entries (forms to complete, ...), all in one query per page.

The menu is part of every full page and Jinja renders synchronously, so the
counts are read after the handler ran and before the page renders: the app's
`after_request` hook (`portal.handlers.menu.add_menu_counts`) adds them to a
signed-in client's full-page template (`pages/...`) as `menu_counts`; htmx
fragments, widgets, redirects and downloads render no menu and pay nothing.

However many entries carry a count, the database is asked once: each area
offers a query, the app registers them with `use({key: sql})` where it is built
(`portal.app`), and `counts_for()` runs them all as one `SELECT (...) AS a, (...) AS b`. Each `{}`
in a registered query stands for the signed-in user's id (a client's own id is
`(SELECT id FROM client WHERE "user" = {})`). The menu reads
`menu_counts.get(key)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from portal.tables import Client

COUNTS: dict[str, str] = {}
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def use(counts: Mapping[str, str]) -> None:
    """Set the counts (called by create_app): each `sql` selects one number; `{}` is the user's id."""
    for key in counts:
        if not _KEY.match(key):
            raise ValueError(f"menu count {key!r}: lower-case letters, digits and _ only")
    COUNTS.clear()
    COUNTS.update({key: sql.strip() for key, sql in counts.items()})


def combined_query() -> tuple[str, int]:
    """The one SELECT for every registered count, and how many user-id arguments it takes."""
    parts = [f'({sql}) AS "{key}"' for key, sql in COUNTS.items()]
    return "SELECT " + ", ".join(parts), sum(sql.count("{}") for sql in COUNTS.values())


async def counts_for(user_id: int) -> dict[str, int]:
    """Every registered count for this user, in one query."""
    if not COUNTS:
        return {}
    query, uses = combined_query()
    rows = await Client.raw(query, *([user_id] * uses))
    return {key: int(value or 0) for key, value in (rows[0] if rows else {}).items()}
