"""One typed settings object: `litestar.toml`, then `PORTAL_*` environment overrides.

Every key in the file can be overridden by an environment variable named
`PORTAL_<SECTION>_<KEY>` in upper case, e.g. `PORTAL_DATABASE_URL` or
`PORTAL_SERVER_PORT`. Values are converted to the field's type by msgspec, so
a bad value fails at start-up with the key named, not later in a request.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class DatabaseSettings(msgspec.Struct, kw_only=True):
    # sqlite:///relative/or/absolute/path.db or postgresql://user:pw@host:port/name
    url: str = "sqlite:///var/portal.db"


class ServerSettings(msgspec.Struct, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    # The address users reach the portal at; used in mails and to decide on
    # HTTPS-only cookies and HSTS.
    public_url: str = "http://127.0.0.1:8000"
    # Run the mail worker inside the web process (the single-process default).
    run_worker: bool = True
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or
    # networks ("127.0.0.1", "10.0.0.0/8"). Empty: no forwarded header is read, the peer
    # address is the client's.
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    # Seconds each process keeps the practice's details (name, time zone, rules, whether it
    # takes cards) before reading them again. A change made in this process shows at once;
    # other workers see it within this time. 0: read them on every request.
    practice_refresh_seconds: int = 30

    def __post_init__(self) -> None:
        self.trusted_proxies = [_proxy(value) for value in self.trusted_proxies]
        if not 0 <= self.practice_refresh_seconds <= 3600:
            raise ValueError("server.practice_refresh_seconds: between 0 and 3600")


def _proxy(value: str) -> str:
    """A trusted proxy as uvicorn compares it: an address, or a network (host bits allowed)."""
    text = str(value).strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(
            f"server.trusted_proxies: {text!r} is not an IP address or network"
        ) from None


class SecuritySettings(msgspec.Struct, kw_only=True):
    # Empty: read from (or generated into) `secret_file`.
    secret_key: str = ""
    secret_file: str = "var/secret.key"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Failed sign-ins allowed within `throttle_window_minutes` before refusing.
    max_failures_per_account: int = 5
    max_failures_per_ip: int = 20
    throttle_window_minutes: int = 15
    # Origins allowed to frame /embed/ fragments (CSP frame-ancestors).
    embed_origins: list[str] = msgspec.field(default_factory=list)


class MailSettings(msgspec.Struct, kw_only=True):
    # Empty host: mails are written as .eml files into `outbox_dir`.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    from_address: str = "portal@localhost"
    outbox_dir: str = "var/mail"


class PaymentsSettings(msgspec.Struct, kw_only=True):
    # Stripe's API and Stripe.js; other values point at a stand-in such as localstripe.
    stripe_api_url: str = ""
    stripe_js_url: str = "https://js.stripe.com/v3/"
    currency: str = "usd"
    # The smallest charge the processor takes (Stripe: 50 cents in USD).
    min_payment_cents: int = 50


class Settings(msgspec.Struct, kw_only=True):
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    security: SecuritySettings = msgspec.field(default_factory=SecuritySettings)
    mail: MailSettings = msgspec.field(default_factory=MailSettings)
    payments: PaymentsSettings = msgspec.field(default_factory=PaymentsSettings)
    # Directory that relative paths (var/...) are resolved against.
    root: str = str(PROJECT_ROOT)

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else Path(self.root) / p

    @property
    def portal_url(self) -> str:
        """The portal's public address without a trailing slash, for links in mails and PDFs."""
        return self.server.public_url.rstrip("/")

    @property
    def https(self) -> bool:
        return self.server.public_url.startswith("https://")

    @property
    def sqlite_path(self) -> Path | None:
        url = self.database.url
        if not url.startswith("sqlite:///"):
            return None
        return self.path(url.removeprefix("sqlite:///"))

    def secret(self) -> str:
        """The signing secret: configured, or generated once into `secret_file` (0600).

        The file appears whole or not at all (written aside, then hard-linked into
        place), so processes starting together agree on one secret and never read a
        half-written file.
        """
        if self.security.secret_key:
            return self.security.secret_key
        path = self.path(self.security.secret_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(temp, path)  # fails if another process got there first: use theirs
            except FileExistsError:
                pass
            finally:
                temp.unlink()
        key = path.read_text().strip()
        if len(key) < 32:
            raise ValueError(
                f"security.secret_file {path} holds no usable secret (under 32 characters)"
            )
        return key


def _env_overrides(environ: dict[str, str], sections: dict[str, type]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for name, section_type in sections.items():
        for field in msgspec.structs.fields(section_type):
            var = f"PORTAL_{name}_{field.name}".upper()
            if var in environ:
                raw: Any = environ[var].strip()
                if field.type is bool or field.type == "bool":
                    # msgspec converts true/false/1/0 and names the key for anything else.
                    raw = {"yes": "true", "on": "true", "no": "false", "off": "false"}.get(
                        raw.lower(), raw.lower()
                    )
                elif "list" in str(field.type):
                    raw = [v.strip() for v in raw.split(",") if v.strip()]
                out.setdefault(name, {})[field.name] = raw
    return out


def load(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read `litestar.toml` (or `path`), then apply `PORTAL_*` overrides."""
    environ = dict(os.environ if environ is None else environ)
    if path is None and "PORTAL_CONFIG" in environ:
        path = environ["PORTAL_CONFIG"]
    # Relative paths (var/...) are relative to the settings file's directory, unless
    # PORTAL_ROOT says otherwise; without a file, to the project.
    if "PORTAL_ROOT" in environ:
        root = Path(environ["PORTAL_ROOT"])
    elif path is not None and Path(path).exists():
        root = Path(path).resolve().parent
    else:
        root = PROJECT_ROOT
    path = Path(path) if path is not None else root / "litestar.toml"
    data: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as f:
            data = tomllib.load(f)
    sections = {
        "database": DatabaseSettings,
        "server": ServerSettings,
        "security": SecuritySettings,
        "mail": MailSettings,
        "payments": PaymentsSettings,
    }
    for name, values in _env_overrides(environ, sections).items():
        data.setdefault(name, {}).update(values)
    data["root"] = str(root)
    return msgspec.convert(data, Settings, strict=False)
