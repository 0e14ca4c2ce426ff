"""Request-wide HTTP concerns: who is signed in, and the security headers."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Message, Scope

from portal.accounts.auth import SessionPolicy, resolve_session
from portal.embedding import origins
from portal.practice.info import current_practice, last_known


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
    """A `before_send` hook adding the security headers to every response. `/embed/` may be
    framed by the embed allow-list (litestar.toml's and the practice's, as last read: the
    practice is read before any handler runs); every other page by nobody."""
    page_csp = content_security_policy(frame_ancestors="'none'")
    embed_csps: dict[tuple[str, ...], str] = {}

    def embed_csp() -> str:
        allowed = origins.allowed(embed_origins, last_known())
        if allowed not in embed_csps:
            embed_csps[allowed] = content_security_policy(
                frame_ancestors=" ".join(allowed) or "'none'"
            )
        return embed_csps[allowed]

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
            "content-security-policy", embed_csp() if embed else payment_csp if paying else page_csp
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


# The request headers htmx 4 sends, and the CSRF header, allowed in a preflight to /embed/.
EMBED_HEADERS = ("HX-Request, HX-Request-Type, HX-Source, HX-Target, HX-Current-URL, "
                 "HX-Boosted, HX-History-Restore-Request, X-Embed-CSRF, X-Portal-Embed, "
                 "Content-Type")  # fmt: skip


class EmbedCORS:
    """CORS for `/embed/` (and the static files its fragments link) only, for the same-site way (htmx on an allow-listed origin, with
    credentials): a preflight from an allowed origin is answered here (204), anything from
    another origin gets no CORS header, so the browser keeps the answer from its page. The
    origin is echoed, never `*` (credentials are allowed)."""

    def __init__(self, app, *, configured: list[str]) -> None:  # noqa: ANN001
        self.app = app
        self.configured = configured

    async def __call__(self, scope: Scope, receive, send) -> None:  # noqa: ANN001
        path = scope.get("path", "")
        # /static/ too: htmx fetches a swapped-in fragment's stylesheet (embed.css) itself.
        embedded = path.startswith(("/embed/", "/static/")) and path != "/embed/start"
        if scope["type"] != "http" or not embedded:
            await self.app(scope, receive, send)
            return
        origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), "")
        allowed = bool(origin) and origin in origins.allowed(
            self.configured, await current_practice()
        )
        cors = [(b"access-control-allow-origin", origin.encode()),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", b"HX-Trigger, HX-Retarget, HX-Reswap")
                ] if allowed else []  # fmt: skip
        if scope["method"] == "OPTIONS" and origin:
            headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
            if allowed:
                headers += cors + [
                    (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", EMBED_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                ]
            await send({"type": "http.response.start", "status": 204 if allowed else 403,
                        "headers": headers})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("vary", "Origin")
                for k, v in cors:
                    headers[k.decode()] = v.decode()
            await send(message)

        await self.app(scope, receive, send_with_cors)
