"""Keep secrets and PHI out of logs: reset tokens travel in URL paths, and staff's client
searches (names, dates of birth, phone numbers) in the `q` query parameter of /staff/
pages, both of which access logs print."""

from __future__ import annotations

import logging
import re

# Links whose last segment is a secret: password reset, registration, invitations.
_SECRET_PATHS = re.compile(
    r"(/password-reset/|/register/verify/|/invitations/(?!account\b|date-of-birth\b))[A-Za-z0-9_\-]+"
)
# A /staff/ URL's query string, and in it each value of `q` (the client search's text,
# also when its name is percent-encoded as `%71`).
_STAFF_QUERY = re.compile(r"(/staff/[^\s?#\"']*\?)([^\s#\"']*)")
_SEARCH = re.compile(r"(^|&)(q|%71)=[^&]*", re.IGNORECASE)


def _search_redacted(found: re.Match) -> str:
    return found[1] + _SEARCH.sub(r"\1\2=[redacted]", found[2])


def redact(text: str) -> str:
    text = _SECRET_PATHS.sub(r"\1[redacted]", text)
    return _STAFF_QUERY.sub(_search_redacted, text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def install() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "litestar", "portal"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
