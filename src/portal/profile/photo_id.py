"""A client's photo ID: an image of the front and one of the back, stored as blobs.

Uploads are judged by their bytes (`core.uploads.check`, images only, 10 MB
each): a bad side raises `Invalid` under that side's name and nothing is
written. A new side replaces the old one and the old file is deleted. Only
the client's own photo ID is ever read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.profile import changes
from portal.tables import PhotoId, StoredFile

SIDES = {"front": "Front", "back": "Back"}
CHOOSE_AN_IMAGE = "Choose an image of the front or the back of your ID."

_FILE_FACTS = (
    StoredFile.id,
    StoredFile.display_name,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    StoredFile.created_at,
)


async def _photo_id_row(client_id: int) -> dict | None:
    return (
        await PhotoId.select(PhotoId.id, PhotoId.front, PhotoId.back)
        .where(PhotoId.client == client_id)
        .first()
    )


async def photo_id(client_id: int) -> dict[str, dict | None]:
    """What is on file for each side (never the bytes): name, type, size, when."""
    row = await _photo_id_row(client_id)
    ids = {side: row[side] for side in SIDES if row and row[side]}
    files = (
        {
            f["id"]: f
            for f in await StoredFile.select(*_FILE_FACTS).where(
                StoredFile.id.is_in(list(ids.values()))
            )
        }
        if ids
        else {}
    )
    return {side: files.get(ids.get(side)) for side in SIDES}


def _facts(f: Mapping[str, Any] | None) -> dict | None:
    if not f:
        return None
    return {"name": f["display_name"], "size": f["size"], "sha256": f["sha256"]}


def check_images(files: Mapping[str, tuple[str, bytes]]) -> dict[str, uploads.Checked]:
    """The chosen sides (`{side: (filename, bytes)}`) as checked images, or Invalid per side.

    At least one side is needed; a side whose bytes are not an accepted image (or
    are too big) is refused under its own name, and then no side is kept.
    """
    if not files or set(files) - set(SIDES):
        raise Invalid(errors={"front": CHOOSE_AN_IMAGE})
    images: dict[str, uploads.Checked] = {}
    errors: dict[str, str] = {}
    for side, label in SIDES.items():
        if side not in files:
            continue
        filename, data = files[side]
        try:
            images[side] = uploads.check(
                data, filename or f"{label} image", allowed=uploads.IMAGE_TYPES
            )
        except uploads.UploadError as exc:
            errors[side] = str(exc)
    if errors:
        raise Invalid(errors=errors)
    return images


async def replace_photo_id(
    client_id: int, files: Mapping[str, tuple[str, bytes]], actor: Actor
) -> None:
    """Check the chosen side(s), store them, point the client's photo ID at them, delete
    what they replace. `files` maps a side to the uploaded (filename, bytes)."""
    images = await uploads.off_the_loop(check_images, files)
    async with write_transaction(lock_client=client_id):
        before = await photo_id(client_id)
        new_ids = {
            side: await uploads.store(img, uploaded_by=actor.user_id)
            for side, img in images.items()
        }
        row = await _photo_id_row(client_id)
        if row is None:
            await PhotoId.insert(PhotoId(client=client_id, updated_at=utcnow(), **new_ids))
        else:
            await PhotoId.update(
                {getattr(PhotoId, side): file_id for side, file_id in new_ids.items()}
                | {PhotoId.updated_at: utcnow()}
            ).where(PhotoId.client == client_id)
        replaced = [before[side]["id"] for side in new_ids if before[side]]
        if replaced:
            await StoredFile.delete().where(StoredFile.id.is_in(replaced))
        for side, img in images.items():
            await changes.record(
                "profile.photo_id_replaced",
                client_id,
                actor,
                side=side,
                old=_facts(before[side]),
                new={
                    "name": img.display_name,
                    "size": len(img.data),
                    "sha256": img.sha256,
                },
            )


async def photo_id_image(client_id: int, side: str) -> dict:
    """One side's stored image with its bytes (checksum checked), only for its own client."""
    row = await _photo_id_row(client_id) if side in SIDES else None
    image = await uploads.fetch(row[side]) if row is not None and row[side] else None
    if image is None:
        raise NotFound("There is no image of that side of your ID.")
    return image
