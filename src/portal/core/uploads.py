"""Uploaded files: what they are (by their bytes, never their name), stored with a checksum.

Files live in the database (`stored_file`), so every app instance sees them.
`store()` records the SHA-256 of the bytes; `fetch()` checks it again on the
way out and refuses a file whose bytes no longer match. The user's file name is
kept for display and the download's suggested name only — never as a path.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import struct
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from portal.core.clock import utcnow
from portal.tables import StoredFile

MAX_BYTES = 10 * 1024 * 1024  # 10 MB, per file
# A .docx holds a few dozen parts (one per image besides); only this many are looked at.
MAX_ZIP_ENTRIES = 1000

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "application/msword": "DOC",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "text/plain": "TXT",
    "image/jpeg": "JPG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/bmp": "BMP",
}
IMAGE_TYPES = {k: v for k, v in DOCUMENT_TYPES.items() if k.startswith("image/")}
EXTENSIONS = {
    "PDF": "pdf",
    "DOC": "doc",
    "DOCX": "docx",
    "TXT": "txt",
    "JPG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "BMP": "bmp",
}


class UploadError(ValueError):
    pass


class _TooManyEntries(Exception):
    pass


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header


def _zip_names(data: bytes, limit: int = MAX_ZIP_ENTRIES) -> set[str] | None:
    """The names in a ZIP's central directory, reading at most `limit` entries (None: not a
    readable ZIP). More entries than that raise `_TooManyEntries`, whatever the archive
    claims: `zipfile` would read every entry, 100,000 of them in seconds of CPU."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 0xFFFF))
    if end < 0 or end + _EOCD.size > len(data):
        return None
    _, _, _, _, count, cd_size, _, _ = _EOCD.unpack_from(data, end)
    if count > limit:
        raise _TooManyEntries
    start = end - cd_size  # where the directory is, whatever its recorded offset says
    if start < 0 or cd_size == 0xFFFFFFFF:
        return None  # ZIP64 (4 GB), or a lie: not a document of ours
    names: set[str] = set()
    pos, entries = start, 0
    while pos < end:
        if entries == limit:
            raise _TooManyEntries
        if pos + _CENTRAL.size > end:
            return None
        fields = _CENTRAL.unpack_from(data, pos)
        if fields[0] != b"PK\x01\x02":
            return None
        flags, name_len, extra_len, comment_len = fields[5], fields[12], fields[13], fields[14]
        raw = data[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len]
        names.add(raw.decode("utf-8" if flags & 0x800 else "cp437", "replace"))
        pos += _CENTRAL.size + name_len + extra_len + comment_len
        entries += 1
    return names


def sniff(data: bytes) -> str | None:
    """The content type the bytes show themselves to be, among the ones we accept."""
    try:
        return _sniff(data)
    except _TooManyEntries:
        return None


def _sniff(data: bytes, *, zips: bool = True) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if (
        data.startswith(b"BM")
        and len(data) >= 26
        and int.from_bytes(data[2:6], "little") in (len(data), 0)
    ):
        return "image/bmp"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/msword"  # an OLE2 compound file, as .doc files are
    if data.startswith(b"PK\x03\x04"):
        names = _zip_names(data) if zips else None
        if names and "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
        return None
    if data and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


# Control characters (C0, C1), format characters (the bidi overrides and isolates that
# show "\u202egpj.exe.pdf" as "fdp.exe.jpg", zero-width ones), line and paragraph
# separators, and lone surrogates.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _visible(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE)


def safe_display_name(name: str, content_type: str) -> str:
    """A name to show and to suggest on download: no path, no control or bidi characters."""
    name = _visible(unicodedata.normalize("NFC", name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\"<>|:*?]", "", name).strip(" .")[:120]
    ext = EXTENSIONS[DOCUMENT_TYPES[content_type]]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'file'}.{ext}"


@dataclass(frozen=True)
class Checked:
    data: bytes
    content_type: str
    display_name: str
    sha256: str = field(default="", compare=False)


def check(data: bytes, filename: str, *, allowed: dict[str, str] = DOCUMENT_TYPES) -> Checked:
    """Refuse what is too big, empty, or not one of the allowed kinds by its content.

    CPU-bound on a large file (a few milliseconds per MB): from a request, call it (or
    the domain check around it) through `off_the_loop`."""
    kinds = ", ".join(allowed.values())
    filename = _visible(filename) or "file"
    if len(data) > MAX_BYTES:
        raise UploadError(f"“{filename}” is larger than 10 MB. Attach a smaller file.")
    if not data:
        raise UploadError(f"“{filename}” is empty.")
    try:
        content_type = _sniff(data, zips=DOCX in allowed)
    except _TooManyEntries:
        raise UploadError(
            f"“{filename}” is an archive of more than {MAX_ZIP_ENTRIES:,} files, "
            "not a Word document."
        ) from None
    if content_type not in allowed:
        raise UploadError(
            f"“{filename}” is not a {kinds} file (judged by its content, not its name)."
        )
    return Checked(
        data,
        content_type,
        safe_display_name(filename, content_type),
        hashlib.sha256(data).hexdigest(),
    )


# Checking files (sniffing, hashing) runs here rather than on the event loop, at most two
# at a time per process; more wait their turn.
_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="upload-check")
T = TypeVar("T")


async def off_the_loop(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """`fn(*args, **kwargs)` in the upload-check threads, so requests keep flowing."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_checks, functools.partial(fn, *args, **kwargs))


async def store(checked: Checked, *, uploaded_by: int | None) -> int:
    row = await StoredFile.insert(
        StoredFile(
            content_type=checked.content_type,
            display_name=checked.display_name,
            size=len(checked.data),
            sha256=checked.sha256 or hashlib.sha256(checked.data).hexdigest(),
            data=checked.data,
            uploaded_by=uploaded_by,
            created_at=utcnow(),
        )
    ).returning(StoredFile.id)
    return row[0]["id"]


class IntegrityError(RuntimeError):
    pass


async def fetch(file_id: int) -> dict | None:
    """A stored file with its bytes, after checking they still match their checksum."""
    row = await StoredFile.select().where(StoredFile.id == file_id).first()
    if row is None:
        return None
    data = bytes(row["data"])
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise IntegrityError(f"stored file {file_id} does not match its checksum")
    row["data"] = data
    return row


def download_headers(row: dict) -> dict[str, str]:
    """Always a download (never shown inline), under a safe name; nosniff is set app-wide."""
    from urllib.parse import quote

    name = _visible(row["display_name"] or "") or "file"  # rows stored before names were cleaned
    ascii_name = name.encode("ascii", "ignore").decode() or "file"
    return {
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "cache-control": "private, no-store",
        "content-security-policy": "default-src 'none'; sandbox",
    }
