"""Static assets, fingerprinted and compressed once at start-up.

Each file in `static/` is served at `/static/<stem>.<hash><suffix>`, where the
hash is the first 12 hex digits of its SHA-256. The URL changes whenever the
content does, so responses carry `Cache-Control: immutable` for a year. Gzip
and Brotli bodies are computed once here, not per request.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli

PACKAGE_STATIC = Path(__file__).resolve().parents[1] / "static"
SOURCE_STATIC = Path(__file__).resolve().parents[3] / "static"
COMPRESSIBLE = {".css", ".js", ".svg", ".txt", ".json", ".map", ".html"}


@dataclass(frozen=True)
class Asset:
    name: str
    url_name: str
    media_type: str  # the whole Content-Type, with its charset when it is text
    etag: str
    raw: bytes
    gzip: bytes | None
    brotli: bytes | None

    def body_for(self, accept_encoding: str) -> tuple[bytes, str | None]:
        accepted = {p.split(";")[0].strip().lower() for p in accept_encoding.split(",")}
        if self.brotli is not None and "br" in accepted:
            return self.brotli, "br"
        if self.gzip is not None and "gzip" in accepted:
            return self.gzip, "gzip"
        return self.raw, None


class Assets:
    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            directory = PACKAGE_STATIC if PACKAGE_STATIC.is_dir() else SOURCE_STATIC
        self.directory = directory
        self.by_name: dict[str, Asset] = {}
        self.by_url_name: dict[str, Asset] = {}
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path.suffix != ".md":
                self._add(path)

    def _add(self, path: Path) -> None:
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()[:12]
        name = path.relative_to(self.directory).as_posix()
        stem, dot, suffix = name.rpartition(".")
        url_name = f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"
        compress = path.suffix in COMPRESSIBLE
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        asset = Asset(
            name=name,
            url_name=url_name,
            media_type=media_type,
            etag=f'"{digest}"',
            raw=raw,
            gzip=gzip.compress(raw, compresslevel=9, mtime=0) if compress else None,
            brotli=brotli.compress(raw, quality=11) if compress else None,
        )
        self.by_name[name] = asset
        self.by_url_name[url_name] = asset

    def url(self, name: str) -> str:
        """The fingerprinted URL of a static file (KeyError for a missing file: fail loudly)."""
        return f"/static/{self.by_name[name].url_name}"
