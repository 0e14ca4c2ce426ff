"""How far an upload is looked at: a ZIP's directory is read only so far, whatever it claims;
and the names users give their files lose what would make them read differently."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

from portal.core import uploads
from portal.core.uploads import DOCX, MAX_ZIP_ENTRIES, UploadError, check, safe_display_name, sniff


def zipped(names, *, compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name in names:
            z.writestr(zipfile.ZipInfo(name), b"<xml/>" if name.endswith(".xml") else b"")
        z.comment = comment
    return out.getvalue()


DOCX_PARTS = ["[Content_Types].xml", "_rels/.rels", "word/document.xml", "docProps/core.xml"]


def test_a_docx_with_many_images_is_still_a_docx():
    names = DOCX_PARTS + [f"word/media/image{i}.png" for i in range(MAX_ZIP_ENTRIES - 4)]
    assert sniff(zipped(names)) == DOCX
    assert sniff(zipped(DOCX_PARTS, comment=b"written by a word processor")) == DOCX


def test_a_zip_of_100000_entries_is_refused_quickly_and_clearly():
    bomb = zipped([f"{i:07}" for i in range(100_000)], compression=zipfile.ZIP_STORED)
    assert len(bomb) < uploads.MAX_BYTES
    started = time.perf_counter()
    assert sniff(bomb) is None
    with pytest.raises(UploadError, match=r"is an archive of more than 1,000 files"):
        check(bomb, "report.docx")
    assert time.perf_counter() - started < 0.2


def test_a_directory_that_understates_its_entries_is_still_read_only_so_far():
    # The end record says 3 entries; the directory holds 5,000, Word's two among the last.
    names = [f"{i:05}" for i in range(5_000 - 2)] + ["[Content_Types].xml", "word/document.xml"]
    data = bytearray(zipped(names, compression=zipfile.ZIP_STORED))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 3, 3)
    with pytest.raises(UploadError, match="more than 1,000 files"):
        check(bytes(data), "report.docx")


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 40,  # no directory at all
        zipped(DOCX_PARTS)[:-10],  # cut short
        b"PK\x03\x04" + b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 1, 1, 10**6, 0, 0),
        b"PK\x03\x04" + b"\x00" * 60 + b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 1, 1, 50, 0, 0),
    ],
    ids=["no-directory", "truncated", "directory-before-the-file", "not-a-directory"],
)
def test_broken_archives_are_no_documents(data):
    assert sniff(data) is None
    with pytest.raises(UploadError, match="judged by its content"):
        check(data, "report.docx")


def test_image_uploads_do_not_open_archives():
    bomb = zipped([f"{i:07}" for i in range(100_000)], compression=zipfile.ZIP_STORED)
    with pytest.raises(UploadError, match="is not a JPG, PNG, GIF, BMP file"):
        check(bomb, "card.png", allowed=uploads.IMAGE_TYPES)


# --- Names ---------------------------------------------------------------------------------


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("\u202egpj.exe.pdf", "gpj.exe.pdf"),  # right-to-left override: "fdp.exe.jpg" on screen
        ("invoice\u202dgpj.pdf", "invoicegpj.pdf"),  # left-to-right override
        ("\u2067scan\u2069.pdf", "scan.pdf"),  # right-to-left isolate and its end
        ("\u200fnotes\u200e.pdf", "notes.pdf"),  # right-to-left and left-to-right marks
        ("\u061cletter.pdf", "letter.pdf"),  # Arabic letter mark
        ("re\u200bport\ufeff.pdf", "report.pdf"),  # zero-width space, byte order mark
        ("two\u2028lines\u2029.pdf", "twolines.pdf"),  # line and paragraph separators
        ("bell\x07\x85\x9b.pdf", "bell.pdf"),  # C0 and C1 controls
        ("\u202e", "file.pdf"),
    ],
)
def test_bidi_and_other_invisible_characters_leave_file_names(given, shown):
    assert safe_display_name(given, "application/pdf") == shown


def test_letters_of_every_script_stay():
    assert safe_display_name("تقرير طبي.pdf", "application/pdf") == "تقرير طبي.pdf"
    assert safe_display_name("שלום.pdf", "application/pdf") == "שלום.pdf"
    assert safe_display_name("Zoë’s notes ☕.pdf", "application/pdf") == "Zoë’s notes ☕.pdf"


def test_checked_files_and_messages_show_the_cleaned_name():
    checked = check(PDF, "\u202egpj.exe.pdf")
    assert checked.display_name == "gpj.exe.pdf"
    with pytest.raises(UploadError) as refused:
        check(b"MZ\x90\x00", "\u202eexe.pdf")
    assert "\u202e" not in str(refused.value) and "“exe.pdf”" in str(refused.value)
