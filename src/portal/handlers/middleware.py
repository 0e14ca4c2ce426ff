"""Request-wide HTTP concerns: who is signed in, and the security headers."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from portal.accounts.auth import SessionPolicy, resolve_session


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


# Pages that load Stripe.js: the payment form and adding a card.
PAYMENT_PAGES = ("/pay", "/account/cards")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(*, frame_ancestors: str, stripe: tuple[str, str] | None = None) -> str:
    """Ours only; on payment pages also Stripe.js's origin and Stripe's API (no inline code)."""
    js, api = stripe or ("", "")
    frames = f"{js} https://hooks.stripe.com" if js else ""
    return "; ".join(
        filter(
            None,
            [
                "default-src 'none'",
                " ".join(filter(None, ["script-src 'self'", js])),
                "style-src 'self'",
                " ".join(filter(None, ["img-src 'self' data:", js])),
                " ".join(filter(None, ["connect-src 'self'", api, js])),
                f"frame-src {frames}" if frames else "",
                "form-action 'self'",
                "base-uri 'none'",
                f"frame-ancestors {frame_ancestors}",
            ],
        )
    )


def security_headers(
    *, https: bool, embed_origins: list[str], stripe_js_url: str = "", stripe_api_url: str = ""
):
    """A `before_send` hook adding the security headers to every response."""
    page_csp = content_security_policy(frame_ancestors="'none'")
    embed_csp = content_security_policy(frame_ancestors=" ".join(embed_origins) or "'none'")
    stripe = (_origin(stripe_js_url), _origin(stripe_api_url or "https://api.stripe.com"))
    payment_csp = content_security_policy(frame_ancestors="'none'", stripe=stripe)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        path = scope["path"]
        embed = path.startswith("/embed/")
        paying = path in PAYMENT_PAGES or path.startswith(tuple(p + "/" for p in PAYMENT_PAGES))
        headers.setdefault(
            "content-security-policy", embed_csp if embed else payment_csp if paying else page_csp
        )
        headers["x-content-type-options"] = "nosniff"
        headers["referrer-policy"] = "same-origin"
        headers["cross-origin-opener-policy"] = "same-origin"
        if not embed:
            headers["x-frame-options"] = "DENY"
        if https:
            headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
        static = path == "/static" or path.startswith("/static/")
        if not static or message["status"] >= 400:  # static errors are not cached either
            headers.setdefault("cache-control", "no-store")

    return before_send
