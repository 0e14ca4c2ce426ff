"""The embed allow-list: the origins (`https://intranet.example`) whose pages may frame
`/embed/` (CSP `frame-ancestors`), fetch it with credentials (CORS), and host an embed
session. It is the union of `security.embed_origins` in litestar.toml and the practice's
own list, which an owner or manager keeps under Staff › Settings › Practice.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from portal.core import audit
from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.practice.info import PracticeInfo, settings_of
from portal.tables import Practice

MAX_ORIGINS = 20
LOOPBACK = {"localhost", "127.0.0.1", "::1"}  # urlsplit's hostname drops the brackets
_HOST = re.compile(
    r"(\[::1\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)(:[0-9]{1,5})?"
)


def check_origin(text: str) -> str:
    """An origin as kept (lower-case, no trailing slash); ValueError saying what is wrong."""
    value = text.strip().rstrip("/").lower()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{text.strip()[:80]}: write an origin like https://intranet.example.org")
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc or "*" in value:
        raise ValueError(f"{text.strip()[:80]}: only the scheme and host (and port), no path "
                         "and no wildcard")  # fmt: skip
    if not _HOST.fullmatch(parts.netloc):
        raise ValueError(f"{text.strip()[:80]}: that is not a host name")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(
            f"{text.strip()[:80]}: use https (plain http only for localhost and 127.0.0.1)"
        )
    netloc = parts.netloc
    default = {"https": ":443", "http": ":80"}[parts.scheme]
    if netloc.endswith(default):  # as browsers send it in Origin: no default port
        netloc = netloc[: -len(default)]
    return f"{parts.scheme}://{netloc}"


def parse(text: str) -> list[str]:
    """One origin a line, checked; Invalid on `embed_origins` naming the first bad line."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            origin = check_origin(line)
        except ValueError as exc:
            raise Invalid(errors={"embed_origins": str(exc) + "."}) from exc
        if origin not in out:
            out.append(origin)
    if len(out) > MAX_ORIGINS:
        raise Invalid(errors={"embed_origins": f"At most {MAX_ORIGINS} origins."})
    return out


def allowed(configured: list[str], practice: PracticeInfo | None) -> tuple[str, ...]:
    """litestar.toml's origins, then the practice's, each once."""
    kept = practice.embed_origins if practice else ()
    return tuple(dict.fromkeys([o.rstrip("/").lower() for o in configured] + list(kept)))


async def change(practice_id: int, text: str, actor: Actor) -> bool:
    """Save the practice's list; whether it changed (audited when it did)."""
    new = parse(text)
    row = await Practice.select(Practice.settings).where(Practice.id == practice_id).first()
    settings = settings_of(row)
    old = settings.get("embed_origins") or []
    if old == new:
        return False
    await Practice.update({Practice.settings: {**settings, "embed_origins": new}}).where(
        Practice.id == practice_id
    )
    await audit.record(
        "practice.embed_origins_changed", actor_id=actor.user_id, ip=actor.ip,
        subject=f"practice:{practice_id}", detail={"old": old, "new": new},
    )  # fmt: skip
    return True
