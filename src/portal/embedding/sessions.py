"""Embed sessions: one client's named widgets, for one host page, in an iframe that needs
no third-party cookie.

1. The internal system's server calls `POST /api/embed-sessions` with a staff API token
   (scope "embed"), naming the client, the widgets, whether actions are allowed and the
   host page's origin (which must be on the practice's allow-list). It gets a secret:
   valid for `SECRET_MINUTES`, single-use, stored as its SHA-256.
2. `embed.js` posts the secret to `/embed/start` in the iframe (a form, so it never sits in
   a URL, a log or a Referer); redeeming it makes a frame token (stored hashed), which the
   frame carries in its own requests (a header for htmx, a hidden field for forms): a
   session with no cookie at all, so blocked third-party cookies do not matter.
3. Every request with the frame token is checked again: the session not expired, its API
   token not revoked nor expired, its origin still allowed, the staff member active (here);
   the client still theirs to reach, the widget one of those named, the staff member's role
   entitled to it (when the widget is opened: `handlers/embed.py` `_open`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.accounts.auth import token_hash
from portal.core import audit
from portal.core.clock import utcnow
from portal.core.errors import Invalid, NotFound, Refused
from portal.embedding.tokens import TokenUse
from portal.staff.access import Part, Staff, may_reach, staff_member
from portal.tables import EmbedSession
from portal.tables.accounts import STAFF_ROLES, Role

# Each widget, and the parts of a client's record its content comes from.
WIDGETS: dict[str, tuple[str, frozenset[Part]]] = {
    "appointments": ("Upcoming appointments", frozenset({Part.appointments})),
    "balance": ("Balance", frozenset({Part.billing})),
    "tasks": ("Tasks", frozenset({Part.appointments, Part.billing, Part.forms})),
    "insurance": ("Insurance", frozenset({Part.insurance})),
    "forms": ("Forms", frozenset({Part.forms})),
    "messages": ("Recent messages", frozenset({Part.messages})),
    "contact": ("Contact card", frozenset({Part.contact})),
}
SECRET_MINUTES = 5
FRAME_MINUTES = 60
SECRET_PREFIX = "es_"
# Theming: a short allow-list of CSS variables, each value checked.
FONTS = {"system": "system-ui, sans-serif", "serif": "Georgia, serif",
         "sans": "Helvetica, Arial, sans-serif"}  # fmt: skip
_COLOUR = re.compile(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}")
EXPIRED = ("This embedded view has expired or was already opened. Reload the page around "
           "it, or open the client in the portal.")  # fmt: skip


def may_open(staff: Staff, widget: str) -> bool:
    return widget in WIDGETS and all(staff.may(p) for p in WIDGETS[widget][1])


def check_theme(theme: object) -> str:
    """The theme as kept ("accent=#0a5;font=serif;radius=4"), or Invalid on `theme`."""
    if theme in (None, "", {}):
        return ""
    if not isinstance(theme, dict) or set(theme) - {"accent", "font", "radius"}:
        raise Invalid(errors={"theme": "A theme has accent (#rgb or #rrggbb), font (system, "
                                       "serif or sans) and radius (0 to 16), nothing else."})  # fmt: skip
    out = []
    accent, font, radius = theme.get("accent"), theme.get("font"), theme.get("radius")
    if accent is not None:
        if not isinstance(accent, str) or not _COLOUR.fullmatch(accent):
            raise Invalid(errors={"theme": "The accent is a colour like #0a5 or #00aa55."})
        if contrast_with_white(accent) < 4.5:
            raise Invalid(errors={"theme": f"The accent {accent} is too light: links in it and "
                                           "white text on it must stand out (WCAG AA, 4.5:1 "
                                           "against white). Choose a darker colour."})  # fmt: skip
        out.append(f"accent={accent}")
    if font is not None:
        if font not in FONTS:
            raise Invalid(errors={"theme": "The font is system, serif or sans."})
        out.append(f"font={font}")
    if radius is not None:
        if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= 16:
            raise Invalid(errors={"theme": "The radius is a whole number of pixels, 0 to 16."})
        out.append(f"radius={radius}")
    return ";".join(out)


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of `#rgb`/`#rrggbb` against white (links on the white card,
    white text on buttons: the same ratio)."""
    hexes = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])

    def channel(h: str) -> float:
        c = int(h, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(hexes[i : i + 2]) for i in (0, 2, 4))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def theme_variables(kept: str) -> dict[str, str]:
    """CSS custom properties for a kept theme (values already checked when it was kept)."""
    values = dict(part.split("=", 1) for part in kept.split(";") if "=" in part)
    out = {}
    if _COLOUR.fullmatch(values.get("accent", "")):
        out["--accent"] = values["accent"]
    if values.get("font") in FONTS:
        out["--font"] = FONTS[values["font"]]
    if re.fullmatch(r"[0-9]{1,2}", values.get("radius", "")) and int(values["radius"]) <= 16:
        out["--radius"] = f"{int(values['radius'])}px"
    return out


async def start(use: TokenUse, body: dict, *, origins: list[str], ip: str) -> dict:
    """A new embed session from the API call's JSON `body`: its secret (shown once), when
    the secret and the session end. Invalid by field, NotFound for a client out of reach."""
    if "embed" not in use.scopes:
        raise Refused("This API token may not start embed sessions.")
    client = body.get("client")
    if isinstance(client, bool) or not isinstance(client, int):
        raise Invalid(errors={"client": "Name the client by their id, a number."})
    if not await may_reach(use.staff, client):
        raise NotFound("No such client.")
    widgets = body.get("widgets")
    if not isinstance(widgets, list) or not widgets or not all(w in WIDGETS for w in widgets):
        raise Invalid(errors={"widgets": "List the widgets, from: " + ", ".join(WIDGETS) + "."})
    barred = [w for w in widgets if not may_open(use.staff, w)]
    if barred:
        raise Refused(f"The staff member behind this token may not see: {', '.join(barred)}.")
    actions = body.get("actions", False)
    if not isinstance(actions, bool):
        raise Invalid(errors={"actions": "actions is true or false."})
    origin = body.get("origin")
    if not isinstance(origin, str) or origin.rstrip("/") not in origins:
        raise Invalid(errors={"origin": "The host page's origin (https://intranet.example) "
                                        "must be on the practice's embed allow-list."})  # fmt: skip
    theme = check_theme(body.get("theme"))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = await EmbedSession.insert(
        EmbedSession(
            token=use.token_id, user=use.staff.user_id, client=client,
            widgets=",".join(dict.fromkeys(widgets)), actions=actions,
            origin=origin.rstrip("/"), theme=theme, secret_hash=token_hash(secret),
            secret_expires_at=now + timedelta(minutes=SECRET_MINUTES),
            expires_at=now + timedelta(minutes=FRAME_MINUTES), created_at=now,
        )
    ).returning(EmbedSession.id)  # fmt: skip
    await audit.record(
        "embed_session.started", actor_id=use.staff.user_id, ip=ip,
        subject=f"client:{client}",
        detail={"session": row[0]["id"], "token": use.token_id, "widgets": widgets,
                "actions": actions, "origin": origin},
    )  # fmt: skip
    return {"secret": secret, "secret_expires_at": now + timedelta(minutes=SECRET_MINUTES),
            "expires_at": now + timedelta(minutes=FRAME_MINUTES)}  # fmt: skip


async def redeem(secret: str) -> str:
    """Spend the secret (once, before it expires): the frame token. Refused otherwise."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        raise Refused(EXPIRED)
    frame = secrets.token_urlsafe(32)
    now = utcnow()
    spent = await (
        EmbedSession.update(
            {EmbedSession.redeemed_at: now, EmbedSession.frame_hash: token_hash(frame)}
        )  # fmt: skip
        .where(
            EmbedSession.secret_hash == token_hash(secret),
            EmbedSession.redeemed_at.is_null(),
            EmbedSession.secret_expires_at > now,
        )
        .returning(EmbedSession.id)
    )
    if not spent:
        raise Refused(EXPIRED)
    return frame


async def origin_of_secret(secret: str) -> str:
    """The host origin a secret was made for, even spent or expired ("" if unknown): where
    a refused frame may say so."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return ""
    row = await EmbedSession.select(EmbedSession.origin).where(
        EmbedSession.secret_hash == token_hash(secret)
    ).first()  # fmt: skip
    return row["origin"] if row else ""


@dataclass(frozen=True)
class Frame:
    """What an embed frame may open, checked at this request."""

    session_id: int
    staff: Staff
    client_id: int
    widgets: tuple[str, ...]
    actions: bool
    origin: str
    theme: str
    expires_at: datetime


async def frame(frame_token: str, *, allowed: tuple[str, ...]) -> Frame:
    """The embed session of a frame token, if it still holds (Refused with `EXPIRED`): its
    host origin still on the allow-list (`allowed`) among the rest."""
    if not frame_token or len(frame_token) > 100:
        raise Refused(EXPIRED)
    now = utcnow()
    row = await (
        EmbedSession.select(
            EmbedSession.id,
            EmbedSession.user,
            EmbedSession.client,
            EmbedSession.widgets,
            EmbedSession.actions,
            EmbedSession.origin,
            EmbedSession.theme,
            EmbedSession.expires_at,
            EmbedSession.user.role.as_alias("role"),
            EmbedSession.user.active.as_alias("active"),
        )  # fmt: skip
        .where(
            EmbedSession.frame_hash == token_hash(frame_token),
            EmbedSession.expires_at > now,
            EmbedSession.token.revoked_at.is_null(),
            EmbedSession.token.expires_at > now,
        )
        .first()
    )
    if row is None or not row["active"] or row["role"] not in STAFF_ROLES:
        raise Refused(EXPIRED)
    if row["origin"] not in allowed:
        raise Refused("This site may no longer show the portal: the practice has taken it "
                      "off its list of sites allowed to embed the portal.")  # fmt: skip
    # The client is not looked up here: whoever opens a widget goes through
    # widgets.client_row, scoped to what this member may reach (`client_clause`) at that moment.
    staff = await staff_member(row["user"], Role(row["role"]))
    return Frame(
        row["id"], staff, row["client"], tuple(row["widgets"].split(",")), bool(row["actions"]),
        row["origin"], row["theme"], row["expires_at"],
    )  # fmt: skip
