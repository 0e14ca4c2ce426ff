"""Uploaded files, stored in the database so every app instance sees them."""

from piccolo.columns import Bytea, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User


class StoredFile(Table):
    # What the content is (from its magic bytes, never from the name).
    content_type = Varchar(length=100)
    # The name the user gave it: shown, never used as a path.
    display_name = Varchar(length=255, default="")
    size = Integer()
    sha256 = Varchar(length=64)
    data = Bytea()
    uploaded_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
