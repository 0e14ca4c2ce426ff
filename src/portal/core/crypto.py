"""Encrypting secrets at rest (TOTP secrets, payment keys) with a key derived from the app secret.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with its key derived by
HKDF from the portal's signing secret, so a copy of the database alone does not
reveal them. Changing the app secret makes them unreadable: keep it with backups.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Cipher:
    def __init__(self, app_secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal secrets at rest"
        ).derive(app_secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this app's key") from exc
