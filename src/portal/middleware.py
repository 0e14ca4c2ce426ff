"""Request-wide HTTP concerns: who is signed in, and the security headers."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from portal.accounts import SessionPolicy, resolve_session


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolve the session cookie to a user (or None). Guards decide who may enter."""

    def __init__(self, app, *, cookie_name: str, policy: SessionPolicy, **kwargs) -> None:
        super().__init__(app, **kwargs)
        self.cookie_name = cookie_name
        self.policy = policy

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(self.cookie_name, "")
        user = await resolve_session(token, self.policy) if token else None
        return AuthenticationResult(user=user, auth=token if user else None)


def content_security_policy(*, frame_ancestors: str, extra_script_src: str = "") -> str:
    script_src = " ".join(filter(None, ["'self'", extra_script_src]))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {script_src}",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def security_headers(*, https: bool, embed_origins: list[str]):
    """A `before_send` hook adding the security headers to every response."""
    page_csp = content_security_policy(frame_ancestors="'none'")
    embed_csp = content_security_policy(frame_ancestors=" ".join(embed_origins) or "'none'")

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        embed = scope["path"].startswith("/embed/")
        headers.setdefault("content-security-policy", embed_csp if embed else page_csp)
        headers["x-content-type-options"] = "nosniff"
        headers["referrer-policy"] = "same-origin"
        headers["cross-origin-opener-policy"] = "same-origin"
        if not embed:
            headers["x-frame-options"] = "DENY"
        if https:
            headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
        if scope["path"] != "/static" and not scope["path"].startswith("/static/"):
            headers.setdefault("cache-control", "no-store")

    return before_send
