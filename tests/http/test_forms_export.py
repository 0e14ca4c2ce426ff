"""`portal forms export`: the practice's active templates as a file `portal forms load`
reads back to the same templates (the browser editor and the file stay two ways to one
set of forms); a retired template is left out, so loading the file does not revive it."""

from __future__ import annotations

import json
from importlib.resources import files

from portal.forms.definition import parse, read_file
from portal.forms.loader import apply, export
from portal.tables import FormTemplate
from tests import factories

DEMO = files("portal") / "data" / "demo-forms.toml"


async def test_export_loads_back_to_the_same_templates_without_the_retired_ones():
    await factories.practice(name="Harbor Counseling")
    loaded = parse(read_file(DEMO))
    await apply(loaded)
    retired = loaded[0].slug
    await FormTemplate.update({FormTemplate.active: False}).where(FormTemplate.slug == retired)
    row = (
        await FormTemplate.select(FormTemplate.definition)
        .where(FormTemplate.slug == loaded[1].slug)
        .first()
    )
    d = row["definition"] if isinstance(row["definition"], dict) else json.loads(row["definition"])
    d["consent"] = "I agree to the practice's policies."
    await FormTemplate.update({FormTemplate.definition: d}).where(
        FormTemplate.slug == loaded[1].slug
    )

    exported = json.loads(json.dumps(await export()))  # what the command prints, read back
    again = parse(exported)
    assert [t.slug for t in again] == sorted(t.slug for t in loaded if t.slug != retired)
    by_slug = {t.slug: t for t in loaded}
    for t in again:
        want = by_slug[t.slug]
        assert (t.title, t.version, t.intro, t.fields, t.assign) == (
            want.title, want.version, want.intro, want.fields, want.assign
        )  # fmt: skip
    assert {t.slug: t.consent for t in again}[
        loaded[1].slug
    ] == "I agree to the practice's policies."
    # Loading the export changes nothing and brings nothing back.
    result = await apply(again)
    assert result.created == [] and result.assigned == 0
    assert (await FormTemplate.select().where(FormTemplate.slug == retired).first())[
        "active"
    ] is False
