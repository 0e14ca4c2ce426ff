"""My Docs & Forms: form templates, their assignment to clients, and responses."""

from piccolo.columns import JSON, Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.people import Client
from portal.tables.practice import Practice


class FormTemplate(Table):
    practice = ForeignKey(Practice, on_delete=OnDelete.restrict, null=False)
    slug = Varchar(length=80, unique=True)
    title = Varchar(length=200)
    version = Varchar(length=40, default="1")
    # {"intro": str, "fields": [{"name", "label", "type", "required", "choices", "help"}]}
    definition = JSON(default="{}")
    updated_at = Timestamptz()
    # Retired templates are kept (their responses refer to them) but no longer assigned.
    active = Boolean(default=True)
    # Assigned to every client the practice adds from now on.
    assign_to_new_clients = Boolean(default=False)


class FormAssignment(Table):
    client = ForeignKey(Client, on_delete=OnDelete.restrict, null=False, index=True)
    template = ForeignKey(FormTemplate, on_delete=OnDelete.restrict, null=False)
    assigned_at = Timestamptz()
    # Draft answers while open; locked once submitted.
    answers = JSON(default="{}")
    status = Varchar(length=10, default="open")  # open, submitted
    draft_saved_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    # The template as it was when submitted, so the response reads the same later.
    submitted_definition = JSON(default="{}")
