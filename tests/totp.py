"""RFC 6238 TOTP written from the RFC for the tests: the app's pyotp is checked against it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def b32_key(secret: str) -> bytes:
    secret = secret.replace(" ", "").upper()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def totp(secret: str, at: float | None = None, *, step: int = 30, digits: int = 6) -> str:
    t = time.time() if at is None else at
    return hotp(b32_key(secret), int(t // step), digits)


def secret_from_page(html: str) -> str:
    match = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', html)
    assert match, "setup page shows no secret"
    return match.group(1).replace(" ", "")
