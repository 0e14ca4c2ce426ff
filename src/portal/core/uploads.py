"""Uploaded files: what they are (by their bytes, never their name), stored with a checksum.

Files live in the database (`stored_file`), so every app instance sees them.
`store()` records the SHA-256 of the bytes; `fetch()` checks it again on the
way out and refuses a file whose bytes no longer match. The user's file name is
kept for display and the download's suggested name only — never as a path.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from portal.core.clock import utcnow
from portal.tables import StoredFile

MAX_BYTES = 10 * 1024 * 1024  # 10 MB, per file

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


def sniff(data: bytes) -> str | None:
    """The content type the bytes show themselves to be, among the ones we accept."""
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
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return None
    if data and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


def safe_display_name(name: str, content_type: str) -> str:
    """A name to show and to suggest on download: no path, no control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")[:120]
    ext = EXTENSIONS[DOCUMENT_TYPES[content_type]]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'file'}.{ext}"


@dataclass(frozen=True)
class Checked:
    data: bytes
    content_type: str
    display_name: str


def check(data: bytes, filename: str, *, allowed: dict[str, str] = DOCUMENT_TYPES) -> Checked:
    """Refuse what is too big, empty, or not one of the allowed kinds by its content."""
    kinds = ", ".join(allowed.values())
    if len(data) > MAX_BYTES:
        raise UploadError(f"“{filename}” is larger than 10 MB. Attach a smaller file.")
    if not data:
        raise UploadError(f"“{filename}” is empty.")
    content_type = sniff(data)
    if content_type not in allowed:
        raise UploadError(
            f"“{filename}” is not a {kinds} file (judged by its content, not its name)."
        )
    return Checked(data, content_type, safe_display_name(filename, content_type))


async def store(checked: Checked, *, uploaded_by: int | None) -> int:
    row = await StoredFile.insert(
        StoredFile(
            content_type=checked.content_type,
            display_name=checked.display_name,
            size=len(checked.data),
            sha256=hashlib.sha256(checked.data).hexdigest(),
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

    name = row["display_name"] or "file"
    ascii_name = name.encode("ascii", "ignore").decode() or "file"
    return {
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "cache-control": "private, no-store",
        "content-security-policy": "default-src 'none'; sandbox",
    }
