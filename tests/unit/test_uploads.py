"""Uploads are judged by their bytes, never their name: each accepted kind, the impostors,
and the 10 MB limit exactly."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from portal.core import uploads
from portal.core.uploads import MAX_BYTES, UploadError, check, safe_display_name, sniff

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x11" * 40
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 20
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"This program cannot be run in DOS mode"
)


def bmp(width: int = 2, height: int = 2) -> bytes:
    row = b"\x00\x00\xff" * width + b"\x00" * ((4 - (3 * width) % 4) % 4)
    pixels = row * height
    header_size = 14 + 40
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    file_header = struct.pack("<2sIHHI", b"BM", header_size + len(pixels), 0, 0, header_size)
    return file_header + info + pixels


def zipped(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<xml/>")
    return buf.getvalue()


DOCX = zipped(["[Content_Types].xml", "_rels/.rels", "word/document.xml"])
XLSX = zipped(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"])


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "application/pdf"),
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (GIF, "image/gif"),
        (b"GIF87a" + b"\x00" * 20, "image/gif"),
        (bmp(), "image/bmp"),
        (DOC, "application/msword"),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("Notes for Thursday: sleep better, walk daily. Café ☕\n".encode(), "text/plain"),
    ],
    ids=["pdf", "jpeg", "png", "gif89a", "gif87a", "bmp", "doc", "docx", "txt"],
)
def test_each_accepted_kind_is_known_by_its_bytes(data, kind):
    assert sniff(data) == kind
    # Whatever the name says, the content decides, and the suggested name follows the content.
    checked = check(data, "whatever.bin")
    assert checked.content_type == kind
    assert checked.display_name == f"whatever.{uploads.EXTENSIONS[uploads.DOCUMENT_TYPES[kind]]}"


def test_an_exe_renamed_to_pdf_is_refused():
    assert sniff(EXE) is None
    with pytest.raises(UploadError, match="judged by its content"):
        check(EXE, "invoice.pdf")


def test_a_pdf_named_exe_is_still_a_pdf_and_gets_a_pdf_name():
    checked = check(PDF, "setup.exe")
    assert checked.content_type == "application/pdf"
    assert checked.display_name == "setup.pdf"


def test_docx_is_told_apart_from_other_zip_files():
    assert sniff(XLSX) is None  # a spreadsheet is a zip too, but not a Word document
    assert sniff(zipped(["word/document.xml"])) is None  # no [Content_Types].xml
    assert sniff(zipped(["hello.txt"])) is None
    assert sniff(b"PK\x03\x04 not really a zip") is None
    with pytest.raises(UploadError):
        check(XLSX, "report.docx")


def test_bmp_needs_its_own_size_in_the_header():
    good = bmp(3, 3)
    assert sniff(good) == "image/bmp"
    # A header that lies about the size is not taken for a bitmap...
    lying = good[:2] + struct.pack("<I", len(good) + 99) + good[6:]
    assert sniff(lying) is None  # ... and its binary body is not text either
    # Text that merely starts with "BM" is text.
    assert sniff(b"BMW service on Tuesday, therapy on Thursday") == "text/plain"


def test_text_is_utf8_without_nul_bytes():
    assert sniff(b"plain words\r\nand more") == "text/plain"
    assert sniff(b"plain words\x00hidden binary") is None
    assert sniff(b"\xff\xfe\x00\x00garbage") is None
    assert sniff(b"caf\xe9 latin-1 is not utf-8") is None
    assert sniff(b"") is None


def test_ten_megabytes_exactly_is_accepted_one_byte_more_is_not():
    exactly = PDF + b"\n" * (MAX_BYTES - len(PDF))
    assert len(exactly) == 10 * 1024 * 1024
    assert check(exactly, "scan.pdf").content_type == "application/pdf"
    with pytest.raises(UploadError, match="larger than 10 MB"):
        check(exactly + b"\n", "scan.pdf")


def test_an_empty_file_is_refused():
    with pytest.raises(UploadError, match="empty"):
        check(b"", "nothing.txt")


def test_the_users_file_name_is_never_a_path():
    assert safe_display_name("../../etc/passwd.pdf", "application/pdf") == "passwd.pdf"
    assert safe_display_name("C:\\Users\\me\\scan.pdf", "application/pdf") == "scan.pdf"
    assert safe_display_name('a"b<c>|d:e*f?.txt', "text/plain") == "abcdef.txt"
    assert safe_display_name("\x00\x1f..", "image/png") == "file.png"
