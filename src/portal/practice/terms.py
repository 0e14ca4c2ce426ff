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


async def publish(version: str, body: str, title: str = "Terms of service") -> int:
    if not version.strip() or not body.strip():
        raise ValueError("A version name and the terms' text are both needed.")
    if await TermsVersion.exists().where(TermsVersion.version == version.strip()):
        raise ValueError(
            f"Version {version!r} is already published; give the new one another name."
        )
    row = await TermsVersion.insert(
        TermsVersion(version=version.strip(), title=title, body=body.strip(), published_at=utcnow())
    ).returning(TermsVersion.id)
    return row[0]["id"]


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
