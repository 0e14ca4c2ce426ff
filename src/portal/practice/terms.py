"""Terms of service: the current version, who accepted which version when.

Publishing a new version makes every client accept it at their next sign-in
(`Session.needs_terms_acceptance`, set by the sign-in sequence). Staff are not
asked: the terms are the portal's terms for clients.
"""

from __future__ import annotations

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.tables import TermsAcceptance, TermsVersion
from portal.tables.accounts import Session


async def current() -> dict | None:
    return await TermsVersion.select().order_by(TermsVersion.published_at, ascending=False).first()


async def acceptance(user_id: int) -> dict | None:
    """The user's latest acceptance, with the version it was for."""
    return (
        await TermsAcceptance.select(
            TermsAcceptance.accepted_at,
            TermsAcceptance.terms.id.as_alias("terms_id"),
            TermsAcceptance.terms.version.as_alias("version"),
        )
        .where(TermsAcceptance.user == user_id)
        .order_by(TermsAcceptance.accepted_at, ascending=False)
        .first()
    )


async def needs_acceptance(user_id: int) -> bool:
    latest = await current()
    if latest is None:
        return False
    return not await TermsAcceptance.exists().where(
        TermsAcceptance.user == user_id, TermsAcceptance.terms == latest["id"]
    )


async def accept(terms_id: int, actor: Actor) -> bool:
    """The actor accepts `terms_id` if it is the current version; False if it is not."""
    user_id = actor.user_id
    latest = await current()
    if latest is None or latest["id"] != terms_id:
        return False
    async with write_transaction():
        if not await TermsAcceptance.exists().where(
            TermsAcceptance.user == user_id, TermsAcceptance.terms == terms_id
        ):
            await TermsAcceptance.insert(
                TermsAcceptance(user=user_id, terms=terms_id, accepted_at=utcnow(), ip=actor.ip)
            )
            await audit.record(
                "terms.accepted",
                actor_id=user_id,
                ip=actor.ip,
                detail={"version": latest["version"]},
            )
        await Session.update({Session.needs_terms_acceptance: False}).where(Session.user == user_id)
    return True


class BadTerms(Invalid, ValueError):
    """A version that cannot be published: by field (`version`, `text`) for the settings page,
    and a ValueError still for `portal terms publish`, which prints its message."""


MAX_VERSION = 40  # terms_version.version


async def publish(
    version: str, body: str, title: str = "Terms of service", actor: Actor | None = None
) -> int:
    """Publish a new version: every client accepts it at their next sign-in (sessions already
    open carry on, as they would after `portal terms publish`). From the settings page
    (`actor` given) it is audited as a change of the practice's terms."""
    version, body = version.strip(), body.replace("\r\n", "\n").strip()
    errors = {}
    if not version:
        errors["version"] = "Give the new version a name, for example 2027-01."
    elif len(version) > MAX_VERSION:
        errors["version"] = f"Keep the version's name under {MAX_VERSION} characters."
    if not body:
        errors["text"] = "Enter the terms' text."
    if errors:
        message = "A version name and the terms' text are both needed."
        raise BadTerms(message if len(errors) == 2 else "", errors)
    async with write_transaction():
        if await TermsVersion.exists().where(TermsVersion.version == version):
            raise BadTerms(
                errors={
                    "version": f"Version {version!r} is already published; "
                    "give the new one another name."
                }
            )
        before = await current()
        row = await TermsVersion.insert(
            TermsVersion(version=version, title=title, body=body, published_at=utcnow())
        ).returning(TermsVersion.id)
        if actor is not None:
            await audit.record(
                "practice.settings_changed",
                actor_id=actor.user_id,
                ip=actor.ip,
                subject="terms",
                detail={
                    "section": "terms",
                    "old": {"version": before["version"] if before else None},
                    "new": {"version": version},
                },
            )
    return row[0]["id"]


async def accepted_count(terms_id: int) -> int:
    """How many people accepted this version."""
    return await TermsAcceptance.count().where(TermsAcceptance.terms == terms_id)


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
