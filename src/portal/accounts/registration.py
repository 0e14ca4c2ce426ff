"""Self-registration: a public request at /register, an emailed link, then an account; staff
approve or decline the new client; the practice's setting that turns it on.

A request answers the same whether or not its email address belongs to an account: either
way a `registration` row is written and one mail queued. For a new address the mail holds
the verification link (valid `VALID_FOR`); for an address an account already has, the mail
is a note to that account's owner and the row is born expired (its token is never sent).
So the page, the work done and the rows written tell nobody which addresses have accounts.

Limits, counted from `registration` rows: `MAX_PER_IP` per network (`ip_key`) and
`MAX_PER_HOUR` from everyone per `IP_WINDOW` (over either: `TooMany`, a 429 page that says
nothing about any email); `MAX_PER_EMAIL` per address (`email_key`) per `EMAIL_WINDOW` (over
it: the same "check your email" answer and no mail, so nobody can mail-bomb an address).
A request that writes a row deletes the rows older than `KEEP_FOR` (one DELETE), used or
not: a used one's client holds what was given; `registration.completed` (audit) links them.

Following the link: a GET only shows a "Continue" button (mail scanners fetch links);
`confirm_email` (the POST) records `verified_at`; `create_account` claims the row once (a
conditional update that also ends the link: `expires_at` set to now) and, in the same
transaction, writes the user, the client (status new, waiting for approval), their email,
mobile and preferred provider, and the forms given to new clients.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal.accounts.auth import create_user, normalise_username, token_hash, username_taken
from portal.accounts.passwords import hash_password_async, password_problem
from portal.core import audit, mail
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import parse_id, write_transaction
from portal.core.errors import Conflict, Invalid, NotFound, Refused
from portal.forms.assigning import assign_for_new_client
from portal.profile.contact_points import parse_email, parse_phone
from portal.tables import Client, ClientEmail, ClientPhone, ClientProvider, Practice, Provider
from portal.tables.accounts import Role, Session, User
from portal.tables.enrolment import Registration
from portal.tables.people import ClientStatus

VALID_FOR = timedelta(hours=24)
IP_WINDOW, MAX_PER_IP = timedelta(hours=1), 5
EMAIL_WINDOW, MAX_PER_EMAIL = timedelta(days=1), 3
MAX_PER_HOUR = 60  # every request together, per IP_WINDOW
KEEP_FOR = VALID_FOR + timedelta(days=1)  # then a row is deleted, whatever became of it
MAX_MESSAGE = 2000
ANY = "any"
OFF = "Self-registration is not available."
HANDLED = "This registration was already approved or declined."
EXISTS = "An account with this email address exists already. Sign in, or reset your password from the sign-in page."  # fmt: skip

# Exact, case-insensitive matches: never LIKE, whose % and _ would match other addresses.
ACCOUNT_BY_EMAIL = "SELECT id, email FROM portal_user WHERE lower(email) = lower({}) LIMIT 1"
# The rows that may have one email key (the local part, then @ or +); `email_key` decides.
EMAILS_OF = "SELECT email FROM registration WHERE created_at >= {} AND lower(substr(email, 1, {})) IN ({}, {})"  # fmt: skip
PURGE = "DELETE FROM registration WHERE created_at < {} AND expires_at < {}"
TOO_MANY = "Too many registrations were sent from your network. Please wait an hour, then try again, or call the practice."  # fmt: skip
CLAIM = (
    "UPDATE registration SET expires_at = {}, verified_at = COALESCE(verified_at, {}) "
    "WHERE token_hash = {} AND client IS NULL AND expires_at > {} RETURNING *"
)


class TooMany(Refused):
    """Too many requests from one network, or from everyone: the handler answers 429."""


def ip_key(ip: str) -> str:
    """What the per-network limit counts and the row keeps: an IPv4 address, an IPv6 /64
    ("2001:db8:1:2::/64"), or "" (no address: one bucket shared by all, failing closed)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def email_key(address: str) -> str:
    """An address as its limit counts it: lower-cased, no `+tag` (Nora+1@X is nora@x)."""
    local, _, domain = address.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


async def _sent_to(key: str, since: datetime) -> int:
    local = key.rpartition("@")[0]
    rows = await Registration.raw(EMAILS_OF, since, len(local) + 1, f"{local}@", f"{local}+")
    return sum(1 for row in rows if email_key(row["email"]) == key)


async def _over_limit(network: str, email: str, now: datetime) -> str:
    """Which limit this request is over ("ip", "practice", "email"), or ""."""
    recent = Registration.created_at >= now - IP_WINDOW
    if await Registration.count().where((Registration.ip == network) & recent) >= MAX_PER_IP:
        return "ip"
    if await Registration.count().where(recent) >= MAX_PER_HOUR:
        return "practice"
    return "email" if await _sent_to(email_key(email), now - EMAIL_WINDOW) >= MAX_PER_EMAIL else ""


@dataclass(frozen=True)
class RegistrationSettings:
    self_registration: bool = False
    book_before_approval: bool = False


async def settings_of(practice_id: int) -> RegistrationSettings:
    """Read from the practice row itself (PracticeInfo does not carry these)."""
    row = (
        await Practice.select(Practice.self_registration, Practice.book_before_approval)
        .where(Practice.id == practice_id)
        .first()
    )
    return RegistrationSettings(**row) if row else RegistrationSettings()


async def require_open(practice_id: int | None) -> None:
    """NotFound unless the practice has self-registration turned on."""
    if practice_id is None or not (await settings_of(practice_id)).self_registration:
        raise NotFound(OFF)


async def change_settings(
    practice_id: int, *, self_registration: bool, book_before_approval: bool, actor: Actor
) -> None:
    """An owner's or manager's choice (the handler's guard checked the role); audited."""
    async with write_transaction():
        old = await settings_of(practice_id)
        await Practice.update({Practice.self_registration: self_registration,
                               Practice.book_before_approval: book_before_approval}
                              ).where(Practice.id == practice_id)  # fmt: skip
        await audit.record(
            "practice.registration_settings_changed", actor_id=actor.user_id, ip=actor.ip,
            subject=f"practice:{practice_id}",
            detail={
                "old": {"self_registration": old.self_registration,
                        "book_before_approval": old.book_before_approval},
                "new": {"self_registration": self_registration,
                        "book_before_approval": book_before_approval},
            },
        )  # fmt: skip


async def providers(practice_id: int) -> list[dict]:
    """The providers a new client may prefer: the practice's active ones, by name."""
    return (
        await Provider.select(Provider.id, Provider.display_name, Provider.credentials)
        .where((Provider.practice == practice_id) & Provider.active.eq(True))
        .order_by(Provider.display_name)
    )


def _date_of_birth(text: str, today: date) -> date:
    try:
        born = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("Enter your date of birth, like 1990-04-23.") from None
    if born > today:
        raise ValueError("A date of birth cannot be in the future.")
    if born.year < 1900:
        raise ValueError("Check the year of your date of birth.")
    return born


def check(typed: dict[str, str], provider_ids: set[int]) -> dict:
    """The request's fields, checked; Invalid with a message per field otherwise."""
    errors: dict[str, str] = {}
    out: dict = {}
    for name, label in (("first_name", "first name"), ("last_name", "last name")):
        value = typed.get(name, "").strip()
        if not value:
            errors[name] = f"Enter your {label}."
        elif len(value) > 100:
            errors[name] = "Use at most 100 characters."
        out[name] = value
    try:
        out["date_of_birth"] = _date_of_birth(typed.get("date_of_birth", ""), utcnow().date())
    except ValueError as exc:
        errors["date_of_birth"] = str(exc)
    for name, parse in (("email", parse_email), ("mobile", parse_phone)):
        try:
            out[name] = parse(typed.get(name, ""))
        except ValueError as exc:
            errors[name] = str(exc)
    choice = typed.get("provider", ANY) or ANY
    out["provider"] = None if choice == ANY else parse_id(choice)
    if choice != ANY and out["provider"] not in provider_ids:
        errors["provider"] = "Choose a provider from the list, or “Any provider”."
    # As `messaging.sending.clean_body`: a textarea's maxlength counts CRLF as one.
    out["message"] = typed.get("message", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(out["message"]) > MAX_MESSAGE:
        errors["message"] = f"Keep the message to {MAX_MESSAGE} characters or fewer."
    if errors:
        raise Invalid("Please check the highlighted fields.", errors=errors)
    return out


async def request(practice_id: int, typed: dict[str, str], actor: Actor) -> None:
    """Record a registration request and mail its link (or, for an address an account has,
    a note to that account). Raises Invalid for bad input, TooMany over the network's or the
    practice-wide limit; over the email limit it does nothing, silently."""
    fields = check(typed, {p["id"] for p in await providers(practice_id)})
    now = utcnow()
    token = secrets.token_urlsafe(32)
    network = ip_key(actor.ip)
    async with write_transaction():
        if limit := await _over_limit(network, fields["email"], now):
            await audit.record("registration.limited", actor_id=None, ip=actor.ip,
                               detail={"by": limit})  # fmt: skip
        else:
            await _write(fields, token, network, now, actor)
    if limit in ("ip", "practice"):  # raised once the audit event is committed
        raise TooMany(TOO_MANY)


async def _write(fields: dict, token: str, network: str, now: datetime, actor: Actor) -> None:
    """The row and its mail (in the caller's transaction), after purging old rows."""
    await Registration.raw(PURGE, now - KEEP_FOR, now - timedelta(days=1))
    accounts = await User.raw(ACCOUNT_BY_EMAIL, fields["email"])
    existing = bool(accounts)
    row = await Registration.insert(
        Registration(
            token_hash=token_hash(token), first_name=fields["first_name"],
            last_name=fields["last_name"], date_of_birth=fields["date_of_birth"].isoformat(),
            email=fields["email"], mobile=fields["mobile"], preferred_provider=fields["provider"],
            message=fields["message"], ip=network, created_at=now,
            # An address with an account gets a note, never a link: its row is dead.
            expires_at=now if existing else now + VALID_FOR,
        )
    ).returning(Registration.id)  # fmt: skip
    context = {"practice_name": actor.practice_name, "portal_url": actor.portal_url}
    if existing:
        await mail.queue(accounts[0]["email"], "registration_exists", **context)
    else:
        await mail.queue(
            fields["email"], "registration_verify", **context,
            link=f"{actor.portal_url}/register/verify/{token}",
            hours=int(VALID_FOR.total_seconds() // 3600),
        )  # fmt: skip
    await audit.record(
        "registration.requested", actor_id=None, ip=actor.ip,
        subject=f"registration:{row[0]['id']}", detail={"existing_account": existing},
    )  # fmt: skip


async def pending(token: str) -> dict | None:
    """The registration behind a link, while the link is good (not used, not expired)."""
    row = await Registration.select().where(Registration.token_hash == token_hash(token)).first()
    if row is None or row["client"] is not None or row["expires_at"] <= utcnow():
        return None
    return row


async def confirm_email(token: str, actor: Actor) -> dict | None:
    """ "Continue" on the link's page: the address is proven. The row, or None."""
    row = await pending(token)
    if row is None:
        return None
    if row["verified_at"] is None:
        async with write_transaction():
            await Registration.update({Registration.verified_at: utcnow()}).where(
                (Registration.id == row["id"]) & Registration.verified_at.is_null()
            )
            await audit.record("registration.verified", actor_id=None, ip=actor.ip,
                               subject=f"registration:{row['id']}")  # fmt: skip
    return row


def _account_problems(username: str, password: str, again: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Choose a username."
    elif len(username) > 150:
        errors["username"] = "Use at most 150 characters."
    elif not all(ch.isalnum() or ch in "._-@" for ch in username):
        errors["username"] = "Use letters, digits and . _ - @ only."
    if not password:
        errors["password"] = "Choose a password."
    elif problem := password_problem(password, username=username):
        errors["password"] = problem
    elif password != again:
        errors["password_again"] = "The two passwords are not the same."
    return errors


async def create_account(
    practice_id: int, token: str, username: str, password: str, again: str, actor: Actor
) -> dict | None:
    """Use the link once: the new user (a `portal_user` row) with their client record, or
    None when the link is unknown, used or expired. Raises Invalid (and uses nothing up)
    for a refused username or password, Conflict when the address got an account since."""
    if await pending(token) is None:
        return None
    username = normalise_username(username)
    errors = _account_problems(username, password, again)
    if not errors and await username_taken(username):
        errors["username"] = "That username is taken. Choose another."
    if errors:
        raise Invalid(errors=errors)
    password_hash = await hash_password_async(password)  # before the write lock
    now = utcnow()
    async with write_transaction():
        claimed = await Registration.raw(CLAIM, now, now, token_hash(token), now)
        if not claimed:
            return None
        reg = claimed[0]
        # Raised inside the transaction, these roll the claim back: the link still works.
        if await username_taken(username):
            raise Invalid(errors={"username": "That username is taken. Choose another."})
        if await User.raw(ACCOUNT_BY_EMAIL, reg["email"]):
            raise Conflict(EXISTS)
        user_id = await create_user(username, reg["email"], "", Role.client,
                                    password_hash=password_hash)  # fmt: skip
        row = await Client.insert(
            Client(
                practice=practice_id, user=user_id, first_name=reg["first_name"],
                last_name=reg["last_name"], date_of_birth=date.fromisoformat(reg["date_of_birth"]),
                status=ClientStatus.new, self_registered=True, approved_at=None,
                registration_message=reg["message"], created_at=now,
            )
        ).returning(Client.id)  # fmt: skip
        client_id = row[0]["id"]
        await ClientEmail.insert(
            ClientEmail(client=client_id, address=reg["email"], is_primary=True, created_at=now)
        )
        if reg["mobile"]:
            await ClientPhone.insert(
                ClientPhone(client=client_id, kind="mobile", number=reg["mobile"], created_at=now)
            )
        provider = reg["preferred_provider"]
        mine = (Provider.practice == practice_id) & Provider.active.eq(True)
        if provider and await Provider.exists().where((Provider.id == provider) & mine):
            await ClientProvider.insert(ClientProvider(client=client_id, provider=provider))
        used = Registration.id == reg["id"]
        await Registration.update({Registration.client: client_id}).where(used)
        forms = await assign_for_new_client(practice_id, client_id, ClientStatus.new.value)
        await audit.record(
            "registration.completed", actor_id=user_id, ip=actor.ip,
            subject=f"client:{client_id}",
            detail={"client": client_id, "registration": reg["id"], "forms": forms},
        )  # fmt: skip
    return await User.select().where(User.id == user_id).first()


WAITING_SQL = (
    "UPDATE client SET {} WHERE id = {} AND self_registered AND approved_at IS NULL "
    "AND status <> 'inactive' RETURNING id, \"user\""
)


async def _decide(client_id: int, actor: Actor, *, approve: bool) -> None:
    now = utcnow()
    async with write_transaction(lock_client=client_id):
        if approve:
            sets, values = "approved_at = {}, status = 'active'", [now]
        else:
            sets, values = "status = 'inactive'", []
        rows = await Client.raw(WAITING_SQL.format(sets, "{}"), *values, client_id)
        if not rows:
            raise Conflict(HANDLED)
        user_id = rows[0]["user"]
        email = ""
        if user_id is not None:
            account = await User.select(User.email).where(User.id == user_id).first()
            email = account["email"] if account else ""
            if not approve:
                await User.update({User.active: False}).where(User.id == user_id)
                await Session.delete().where(Session.user == user_id)
        action = "approved" if approve else "declined"
        if email:
            await mail.queue(email, f"registration_{action}", practice_name=actor.practice_name,
                             portal_url=actor.portal_url,
                             phone=actor.practice.phone if actor.practice else "")  # fmt: skip
        await audit.record(
            f"registration.{action}", actor_id=actor.user_id, ip=actor.ip,
            subject=f"client:{client_id}", detail={"client": client_id},
        )  # fmt: skip


async def approve(client_id: int, actor: Actor) -> None:
    """The client may book online now (status active); mailed. Conflict if already decided.
    The caller checked the staff member may (access.open_record, Part.invite)."""
    await _decide(client_id, actor, approve=True)


async def decline(client_id: int, actor: Actor) -> None:
    """The client is made inactive, their account switched off and signed out; mailed."""
    await _decide(client_id, actor, approve=False)


async def client_row(client_id: int) -> dict:
    row = await Client.select().where(Client.id == client_id).first()
    if row is None:
        raise NotFound("No such client.")
    return row
