"""Staff › Clients: the client list (search, filters, paging) and creating a client.

The list shows only the clients the access policy lets this staff member reach
(`client_clause`: a provider sees their own). It reads a bounded number of queries per
page whatever the number of clients: the page's rows (LIMIT/OFFSET on an ORDER BY
last name, first name, id), their total, then for those rows only, in one query each,
their providers, their live invitations and whether their account has signed in.

Search (`q`) reads what was typed: a date (YYYY-MM-DD or MM/DD/YYYY) is a date of birth;
digits with phone punctuation are a phone number (compared digit by digit with the
stored E.164 numbers); anything else matches the names (every word in a first, last or
preferred name, partial, case-insensitive) or an email address (the account's and the
client's own addresses). A search is audited (`staff.search`, `search`) without its text.

Creating a client is `portal.staff.new_client`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from piccolo.columns.combination import WhereRaw

from portal.accounts import invitations
from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import parse_id
from portal.staff.access import Staff, client_clause
from portal.tables import Client, LoginAttempt, Provider

PER_PAGE = 25
MAX_PAGE = 10_000
STATUSES = {"new": "New", "active": "Active", "inactive": "Inactive"}
FILTER_STATUSES = {**STATUSES, "waiting": "Waiting for approval"}
PORTAL_STATES = {
    "not_invited": "Not invited",
    "invited": "Invited",
    "not_signed_in": "Not yet signed in",
    "active": "Active",
}
_PHONE = re.compile(r"^[\d\s().+\-]+$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ListQuery:
    """What the list was asked for, cleaned: unknown values are dropped, not refused."""

    q: str = ""
    status: str = ""
    provider: int | None = None
    page: int = 1

    def params(self, page: int | None = None) -> dict[str, str]:
        """The query string of this list (for another page: `page`)."""
        out = {"q": self.q, "status": self.status, "provider": str(self.provider or "")}
        out = {k: v for k, v in out.items() if v}
        if (page or self.page) > 1:
            out["page"] = str(page or self.page)
        return out

    @property
    def without_search(self) -> str:
        """The list's URL with these filters and no search."""
        rest = {k: v for k, v in self.params(page=1).items() if k != "q"}
        return "/staff/clients" + (f"?{urlencode(rest)}" if rest else "")


def list_query(q: str = "", status: str = "", provider: str = "", page: str = "") -> ListQuery:
    number = parse_id(page.strip()) or 1
    return ListQuery(
        q=" ".join(q.split())[:100],
        status=status if status in FILTER_STATUSES else "",
        provider=parse_id(provider.strip()),
        page=min(number, MAX_PAGE),
    )


@dataclass
class ClientList:
    query: ListQuery
    rows: list[dict] = field(default_factory=list)
    total: int = 0
    has_next: bool = False
    first: int = 0  # the position of the first row shown (1-based), 0 when none
    providers: list[dict] = field(default_factory=list)  # the filter's options

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def parse_date(text: str) -> date | None:
    """A date typed as YYYY-MM-DD or MM/DD/YYYY, else None."""
    text = text.strip()
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
        found = _US_DATE.match(text)
        if found:
            month, day, year = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its wildcards escaped with '!'."""
    escaped = text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


_EMAIL_MATCH = (
    "(client.id IN (SELECT client FROM client_email WHERE lower(address) LIKE {} ESCAPE '!')"
    " OR client.\"user\" IN (SELECT id FROM portal_user WHERE lower(email) LIKE {} ESCAPE '!'))"
)
_NAME_WORD = (
    "(lower(client.first_name) LIKE {} ESCAPE '!' OR lower(client.last_name) LIKE {} ESCAPE '!'"
    " OR lower(client.preferred_name) LIKE {} ESCAPE '!')"
)
# The stored numbers are E.164 (+16175550142): their digits are the number without "+".
_PHONE_MATCH = (
    "client.id IN (SELECT client FROM client_phone WHERE replace(number, '+', '') LIKE {})"
)


def search_kind(q: str) -> str:
    """What a search reads `q` as: "date_of_birth", "phone", "email", "name"; "" for none."""
    if not q:
        return ""
    if parse_date(q) is not None:
        return "date_of_birth"
    if _PHONE.match(q) and len(re.sub(r"\D", "", q)) >= 3:
        return "phone"
    return "email" if "@" in q else "name"


def search_clause(q: str) -> WhereRaw | None:
    """The condition `q` puts on the list (see the module's docstring), None for no search."""
    kind = search_kind(q)
    if not kind:
        return None
    if kind == "date_of_birth":
        return WhereRaw("client.date_of_birth = {}", parse_date(q))
    if kind == "phone":
        digits = re.sub(r"\D", "", q)
        return WhereRaw(_PHONE_MATCH, f"%{digits}%")
    if kind == "email":
        pattern = _like(q)
        return WhereRaw(_EMAIL_MATCH, pattern, pattern)
    words = q.split()[:5]
    names = " AND ".join(_NAME_WORD for _ in words)
    args = [p for w in words for p in [_like(w)] * 3]
    pattern = _like(q)
    return WhereRaw(f"(({names}) OR {_EMAIL_MATCH})", *args, pattern, pattern)


def _filters(staff: Staff, practice_id: int, query: ListQuery) -> list:
    where: list = [Client.practice == practice_id, client_clause(staff, "client.id")]
    found = search_clause(query.q)
    if found is not None:
        where.append(found)
    if query.status == "waiting":
        where.append(WhereRaw("client.self_registered = {} AND client.approved_at IS NULL", True))
        where.append(Client.status != "inactive")
    elif query.status:
        where.append(Client.status == query.status)
    if query.provider is not None:
        where.append(
            WhereRaw(
                "client.id IN (SELECT client FROM appointment WHERE provider = {}"
                " UNION SELECT client FROM client_provider WHERE provider = {})",
                query.provider,
                query.provider,
            )
        )
    return where


async def practice_providers(practice_id: int) -> list[dict]:
    return await (
        Provider.select(Provider.id, Provider.display_name, Provider.credentials, Provider.active)
        .where(Provider.practice == practice_id)
        .order_by(Provider.display_name)
        .order_by(Provider.id)
    )


async def search(staff: Staff, practice_id: int, query: ListQuery, actor: Actor) -> ClientList:
    """`client_list`, and a search (a `q`) audited as `staff.search`: who, what the text was
    read as (a name, a date of birth, a phone, an email), the filters, the page and how many
    clients matched. Never the text, nor a hash of it: it is PHI, and a date of birth or a
    phone number has so few possible values that its unsalted hash is reversed by trying
    them all. Which clients the page showed (names, dates of birth) is there instead, by
    id (`shown`), so "who looked this client up" is answered without the text."""
    found = await client_list(staff, practice_id, query)
    if query.q:
        await audit.record(
            "staff.search",
            actor_id=staff.user_id,
            ip=actor.ip,
            subject=f"practice:{practice_id}",
            detail={
                "role": staff.role.value,
                "kind": search_kind(query.q),
                "status": query.status,
                "provider": query.provider,
                "page": query.page,
                "results": found.total,
                "shown": [r["id"] for r in found.rows],
            },
        )
    return found


async def client_list(staff: Staff, practice_id: int, query: ListQuery) -> ClientList:
    """One page of the list: its rows (with providers and portal state) and the total."""
    where = _filters(staff, practice_id, query)
    offset = (query.page - 1) * PER_PAGE
    rows = await (
        Client.select(
            Client.id,
            Client.user,
            Client.first_name,
            Client.last_name,
            Client.preferred_name,
            Client.date_of_birth,
            Client.status,
            Client.self_registered,
            Client.approved_at,
        )
        .where(*where)
        .order_by(Client.last_name, Client.first_name, Client.id)
        .limit(PER_PAGE + 1)
        .offset(offset)
    )
    result = ClientList(query=query, providers=await practice_providers(practice_id))
    result.has_next = len(rows) > PER_PAGE
    result.rows = rows[:PER_PAGE]
    result.first = offset + 1 if result.rows else 0
    if result.has_next or query.page > 1:
        result.total = await Client.count().where(*where)
    else:
        result.total = len(result.rows)
    await _annotate(result.rows)
    return result


# The providers of some clients: those they have appointments with and those assigned.
_PROVIDERS = (
    "SELECT a.client AS client, p.display_name AS name FROM"
    " (SELECT DISTINCT client, provider FROM appointment WHERE client IN ($IDS)"
    "  UNION SELECT client, provider FROM client_provider WHERE client IN ($IDS)) a"
    " JOIN provider p ON p.id = a.provider ORDER BY p.display_name, p.id"
)


def _marks(values: list) -> str:
    return ", ".join("{}" for _ in values)


async def _annotate(rows: list[dict]) -> None:
    """Each row's providers and portal state: one query each for all the rows."""
    if not rows:
        return
    ids = [r["id"] for r in rows]
    links = await Client.raw(_PROVIDERS.replace("$IDS", _marks(ids)), *ids, *ids)
    names: dict[int, list[str]] = {}
    for link in links:
        names.setdefault(link["client"], []).append(link["name"])
    users = [r["user"] for r in rows if r["user"] is not None]
    signed: set[int] = set()
    if users:
        seen = await (
            LoginAttempt.select(LoginAttempt.user)
            .where(LoginAttempt.user.is_in(users), LoginAttempt.outcome == "success")
            .distinct()
        )
        signed = {r["user"] for r in seen}
    waiting = [r["id"] for r in rows if r["user"] is None]
    # "Invited": a live link, by the invitations' own rule (one query for the page).
    invited = {cid for cid, st in (await invitations.states(waiting)).items() if st.kind == "sent"}
    for row in rows:
        row["providers"] = names.get(row["id"], [])
        if row["user"] is None:
            row["portal"] = "invited" if row["id"] in invited else "not_invited"
        else:
            row["portal"] = "active" if row["user"] in signed else "not_signed_in"
        row["waiting"] = bool(row["self_registered"]) and row["approved_at"] is None
