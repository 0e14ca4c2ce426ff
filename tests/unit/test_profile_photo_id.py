"""Photo-ID uploads are judged in the domain: at least one side, images only, per-side messages,
and nothing stored when a side is refused."""

from __future__ import annotations

import pytest

from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.profile import photo_id
from portal.tables import PhotoId, StoredFile
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x11" * 40
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_side_is_needed():
    for files in ({}, {"middle": ("id.png", PNG)}):
        with pytest.raises(Invalid) as caught:
            photo_id.check_images(files)
        assert caught.value.errors == {"front": photo_id.CHOOSE_AN_IMAGE}


def test_each_side_is_checked_by_its_bytes_under_its_own_name():
    images = photo_id.check_images({"front": ("front.png", PNG), "back": ("back.jpg", JPEG)})
    assert {side: img.content_type for side, img in images.items()} == {
        "front": "image/png",
        "back": "image/jpeg",
    }
    with pytest.raises(Invalid) as caught:
        photo_id.check_images({"front": ("front.png", PNG), "back": ("back.png", PDF)})
    assert set(caught.value.errors) == {"back"}
    assert "back.png" in caught.value.errors["back"]


async def test_a_refused_side_stores_nothing_and_a_good_one_replaces_the_old():
    p = await factories.practice()
    alice = await factories.client(p, "alice")
    actor = Actor(alice["user_id"], "client", "203.0.113.7", "http://portal.example", None)
    with pytest.raises(Invalid):
        await photo_id.replace_photo_id(
            alice["client_id"], {"front": ("f.png", PNG), "back": ("b.pdf", PDF)}, actor
        )
    assert await StoredFile.count() == 0 and await PhotoId.count() == 0

    await photo_id.replace_photo_id(alice["client_id"], {"front": ("f.png", PNG)}, actor)
    await photo_id.replace_photo_id(alice["client_id"], {"front": ("g.jpg", JPEG)}, actor)
    on_file = await photo_id.photo_id(alice["client_id"])
    assert on_file["front"]["content_type"] == "image/jpeg" and on_file["back"] is None
    assert await StoredFile.count() == 1  # the replaced image is gone
    image = await photo_id.photo_id_image(alice["client_id"], "front")
    assert image["data"] == JPEG
