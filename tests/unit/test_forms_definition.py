"""Form template files: parsing with errors that say where, loading, assigning, checking answers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.datastructures import FormMultiDict

from portal.core.actor import Actor
from portal.demo.practice import DEMO_FORMS
from portal.forms import answers, assignments, definition, loader
from portal.forms.definition import FieldDef, FormDefinitionError
from portal.tables import AuditEvent, FormAssignment, FormTemplate
from portal.tables.people import ClientStatus
from tests import factories

DEMO = DEMO_FORMS
CLIENT = Actor(user_id=1, role="client", ip="", portal_url="", practice=None)

MINIMAL = {
    "form": [
        {
            "slug": "consent",
            "title": "Consent",
            "field": [{"name": "signature", "type": "signature", "label": "Signature"}],
        }
    ]
}


def with_change(path: str, value, base: dict = MINIMAL) -> dict:
    """A copy of `base` with the dotted `path` (list indexes as numbers) set, or deleted (...)."""
    data = copy.deepcopy(base)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = data
    for k in keys[:-1]:
        target = target[k]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


def error_of(data: dict) -> str:
    with pytest.raises(FormDefinitionError) as exc:
        definition.parse(data)
    return str(exc.value)


# --- Parsing ---------------------------------------------------------------------------------


def test_the_demo_file_defines_an_intake_and_a_consent_form():
    intake, consent = definition.parse(definition.read_file(DEMO))
    assert (intake.slug, consent.slug) == ("intake", "consent-to-treatment")
    types = {f.type for f in intake.fields}
    assert types == set(definition.FIELD_TYPES)  # every type is used
    names = [f.name for f in intake.fields]
    for wanted in ("contact_reason", "history", "medications", "consent_email", "signature"):
        assert wanted in names
    assert any(n.startswith("emergency_contact") for n in names)
    assert [f.type for f in consent.fields][-1] == "signature"
    assert intake.assign == consent.assign == ("all",)
    assert intake.intro.startswith("Welcome") and "\n\n" in intake.intro


def test_defaults_and_what_is_stored():
    (t,) = definition.parse(
        {
            "form": [
                {
                    "slug": "f",
                    "title": "  Form  ",
                    "version": 3,
                    "field": [
                        {"name": "a", "type": "short_text", "label": "A"},
                        {"name": "b", "type": "long_text", "label": "B", "required": True},
                        {"name": "c", "type": "multiple_choice", "label": "C", "choices": ["x"]},
                        {"name": "s", "type": "signature", "label": "Sign"},
                        {"name": "o", "type": "signature", "label": "Witness", "required": False},
                    ],
                }
            ]
        }
    )
    assert t.title == "Form" and t.version == "3" and t.intro == "" and t.assign == ()
    a, b, c, s, o = t.fields
    assert (a.max_length, a.required) == (200, False)
    assert (b.max_length, b.required) == (4000, True)
    assert c.choices == ("x",) and c.max_length == 0
    assert s.required is True and s.max_length == 200  # a signature is required by default
    assert o.required is False
    assert t.definition()["fields"][2] == {
        "name": "c", "type": "multiple_choice", "label": "C", "required": False, "help": "",
        "choices": ["x"],
    }  # fmt: skip
    assert [FieldDef.from_json(f) for f in t.definition()["fields"]] == list(t.fields)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("form", ..., "the file defines no form: add a [[form]] table"),
        ("form", [], "the file defines no form"),
        ("forms", [], "top level: unknown key 'forms' (known: form)"),
        ("form.0.slug", ..., "form #1: 'slug' must be lower-case letters, digits and -"),
        ("form.0.slug", "Intake Form", "form #1: 'slug' must be lower-case"),
        ("form.0.title", ..., "form 'consent': 'title' is missing"),
        ("form.0.title", "   ", "form 'consent': 'title' is empty"),
        ("form.0.title", 7, "form 'consent': 'title' must be text (in quotes)"),
        ("form.0.titel", "x", "form 'consent': unknown key 'titel' (known: assign, consent, field,"),
        ("form.0.version", True, "form 'consent': 'version' must be text"),
        ("form.0.field", ..., "form 'consent': no fields: add [[form.field]] tables"),
        ("form.0.field.0.name", "Full Name", "form 'consent', field #1: 'name' must be lower-case"),
        ("form.0.field.0.type", "essay", "form 'consent', field #1 (signature): 'type' must be one of short_text, long_text"),
        ("form.0.field.0.label", ..., "form 'consent', field #1 (signature): 'label' is missing"),
        ("form.0.field.0.requried", True, "field #1 (signature): unknown key 'requried'"),
        ("form.0.field.0.required", "yes", "field #1 (signature): 'required' must be true or false"),
        ("form.0.field.0.max_length", 10, "'max_length' is only for short_text and long_text"),
        ("form.0.field.0.choices", ["a", "b"], "'choices' is only for single_choice and multiple_choice"),
        ("form.0.assign", "all", "form 'consent': 'assign' must be a list like"),
        ("form.0.assign", ["status:archived"], "assign 'status:archived': the statuses are new, active and inactive"),
    ],
)  # fmt: skip
def test_each_mistake_is_reported_with_where_it_is(path, value, message):
    assert message in error_of(with_change(path, value))


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"type": "single_choice"}, "'choices' must be a list of options"),
        ({"type": "single_choice", "choices": ["only"]}, "a single_choice needs at least two choices"),
        ({"type": "multiple_choice", "choices": ["a", "a"]}, "choice 'a' is listed twice"),
        ({"type": "multiple_choice", "choices": ["a", ""]}, "'choices #2' is empty"),
        ({"type": "multiple_choice", "choices": [str(i) for i in range(51)]}, "at most 50 choices"),
        ({"type": "short_text", "max_length": 0}, "'max_length' must be from 1 to 500"),
        ({"type": "long_text", "max_length": 20001}, "'max_length' must be from 1 to 20000"),
        ({"type": "long_text", "max_length": "200"}, "'max_length' must be a whole number"),
    ],
)  # fmt: skip
def test_field_options_are_checked(field, message):
    data = with_change("form.0.field.0", {"name": "q", "label": "Q", **field})
    assert f"form 'consent', field #1 (q): {message}" in error_of(data)


def test_duplicates_are_refused():
    two = with_change("form.0.field", MINIMAL["form"][0]["field"] * 2)
    assert "form 'consent': field name 'signature' is used twice" in error_of(two)
    twice = {"form": MINIMAL["form"] * 2}
    assert "form 'consent': this slug is used by two forms in the file" in error_of(twice)


def test_files_bad_toml_and_json(tmp_path):
    bad = tmp_path / "forms.toml"
    bad.write_text('[[form]]\nslug = "x\n')
    with pytest.raises(FormDefinitionError, match=r"forms\.toml: not valid TOML: .*line 2"):
        definition.read_file(bad)
    good = tmp_path / "forms.json"
    good.write_text(json.dumps(MINIMAL))
    assert definition.parse(definition.read_file(good))[0].slug == "consent"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(FormDefinitionError, match=r"broken\.json: not valid JSON"):
        definition.read_file(broken)


# --- Checking answers ----------------------------------------------------------------------------

FIELDS = [
    FieldDef("t", "short_text", "T", max_length=5, required=True),
    FieldDef("d", "date", "D"),
    FieldDef("one", "single_choice", "One", choices=("a", "b")),
    FieldDef("many", "multiple_choice", "Many", choices=("a", "b", "c"), required=True),
    FieldDef("box", "checkbox", "Box", required=True),
    FieldDef("sig", "signature", "Sig", required=True, max_length=200),
]


def test_answers_are_read_from_a_posted_form_as_typed():
    posted = FormMultiDict(
        [("t", " hi "), ("many", "c"), ("many", "a"), ("box", "yes"), ("sig", " Ana \r\n  Lima ")]
    )
    values = answers.read_answers(FIELDS, posted)
    assert values == {
        "t": "hi", "d": "", "one": "", "many": ["c", "a"], "box": True, "sig": "Ana Lima",
    }  # fmt: skip
    assert answers.read_answers(FIELDS, FormMultiDict([("box", "on")]))["box"] is False


def test_required_only_counts_on_submit():
    empty = answers.read_answers(FIELDS, FormMultiDict())
    assert answers.check(FIELDS, empty, final=False) == {}
    assert answers.check(FIELDS, empty, final=True) == {
        "t": "Answer this question.",
        "many": "Choose at least one option.",
        "box": "Tick this box to continue.",
        "sig": "Type your full name to sign.",
    }


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("t", "12345", True),
        ("t", "123456", False),
        ("d", "2026-02-28", True),
        ("d", "2026-02-29", False),
        ("d", "20260228", False),
        ("d", "2026-2-8", False),
        ("d", "1899-12-31", False),
        ("one", "b", True),
        ("one", "B", False),
        ("many", ["a", "c"], True),
        ("many", ["a", "d"], False),
        ("sig", "Ana Lima", True),
        ("sig", "Zoë", True),
        ("sig", "x", False),
        ("sig", "12345", False),
    ],
)
def test_each_type_checks_its_shape(name, value, ok):
    values = {"t": "ok", "many": ["a"], "box": True, "sig": "Ana Lima", name: value}
    errors = answers.check(FIELDS, values, final=True)
    assert (name not in errors) is ok, errors
    assert set(errors) <= {name}


def test_task_text():
    assert assignments.task_text("New client intake") == "Complete the New client intake form"
    assert (
        assignments.task_text("Release of information form")
        == "Complete the Release of information form"
    )


# --- Loading and assigning (database) ----------------------------------------------------------------


async def _practice_with_clients() -> dict:
    p = await factories.practice()
    out = {"practice": p}
    for username, status in (
        ("ana", ClientStatus.active),
        ("ben", ClientStatus.new),
        ("cy", ClientStatus.inactive),
    ):
        out[username] = (await factories.client(p, username, status=status))["client_id"]
    await factories.staff("owner")
    return out


async def _assigned(slug: str) -> list[tuple[int, str]]:
    rows = await FormAssignment.select(FormAssignment.client, FormAssignment.status).where(
        FormAssignment.template.slug == slug
    )
    return sorted((r["client"], r["status"]) for r in rows)


@pytest.mark.parametrize(
    ("assign", "who"),
    [
        (["all"], {"ana", "ben"}),
        (["status:new"], {"ben"}),
        (["status:inactive", "ana"], {"ana", "cy"}),
        (["user:ben", "BEN"], {"ben"}),
        ([], set()),
    ],
)
async def test_assign_names_who_gets_the_form(assign, who):
    env = await _practice_with_clients()
    result = await loader.apply(definition.parse(with_change("form.0.assign", assign)))
    assert result.created == ["consent"] and result.assigned == len(who)
    assert await _assigned("consent") == sorted((env[w], "open") for w in who)


async def test_unknown_or_staff_usernames_are_refused_and_nothing_is_written():
    await _practice_with_clients()
    for name in ("nobody", "owner"):
        data = {"form": [with_change("form.0.slug", "other")["form"][0], *with_change("form.0.assign", ["ana", name])["form"]]}  # fmt: skip
        with pytest.raises(FormDefinitionError, match=f"form 'consent': assign '{name}': no client has the username '{name}'"):  # fmt: skip
            await loader.apply(definition.parse(data))
    assert await FormTemplate.count() == 0 and await FormAssignment.count() == 0


async def test_loading_without_a_practice_says_so():
    with pytest.raises(FormDefinitionError, match="the database holds no practice yet"):
        await loader.apply(definition.parse(MINIMAL))


async def test_loading_again_updates_and_a_new_version_asks_again():
    env = await _practice_with_clients()
    data = with_change("form.0.assign", ["all"])
    await loader.apply(definition.parse(data))
    # Again: updated, nobody assigned twice.
    result = await loader.apply(definition.parse(with_change("form.0.title", "Consent (2)", data)))
    assert result.updated == ["consent"] and result.created == [] and result.assigned == 0
    assert (await FormTemplate.select(FormTemplate.title).first())["title"] == "Consent (2)"
    # Ana submits version 1.
    ana = await assignments.one(
        env["ana"],
        (
            await FormAssignment.select(FormAssignment.id)
            .where(FormAssignment.client == env["ana"])
            .first()
        )["id"],
    )
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert await assignments.submit(
        env["ana"], ana, {"signature": "Ana Lima"}, actor=CLIENT, now=now
    )
    # The same version again: still nobody new. Version 2: Ana gets a new open copy;
    # Ben, whose copy is still open, does not get a second one.
    assert (await loader.apply(definition.parse(data))).assigned == 0
    result = await loader.apply(definition.parse(with_change("form.0.version", "2", data)))
    assert result.assigned == 1
    assert await _assigned("consent") == sorted(
        [(env["ana"], "submitted"), (env["ana"], "open"), (env["ben"], "open")]
    )
    loads = await AuditEvent.count().where(AuditEvent.action == "form.templates_loaded")
    assert loads == 4


async def test_describe_lists_templates_with_counts():
    await _practice_with_clients()
    assert "No form templates yet" in await loader.describe()
    await loader.apply(definition.parse(with_change("form.0.assign", ["all"])))
    assert await loader.describe() == "consent: Consent (version 1): 2 open, 0 submitted"


# --- The command -----------------------------------------------------------------------------------


def test_portal_forms_load_reports_problems_and_exits_non_zero(tmp_path):
    """`portal forms load` as an operator runs it, on its own SQLite file."""
    import os
    import subprocess
    import sys

    portal = Path(sys.executable).with_name("portal")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "LITESTAR_"))}
    env.update(
        PORTAL_ROOT=str(tmp_path),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path}/p.db",
        PORTAL_CONFIG=str(tmp_path / "absent.toml"),
        PORTAL_SECURITY_SECRET_KEY="x" * 40,
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(portal), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    assert run("db", "migrate").returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[form]]\nslug = "x"\ntitle = "X"\n[[form.field]]\nname = "a"\ntype = "essay"\nlabel = "A"\n'
    )
    result = run("forms", "load", str(bad))
    assert result.returncode == 1
    assert "form 'x', field #1 (a): 'type' must be one of" in result.stderr
    result = run("forms", "load", str(DEMO))
    assert result.returncode == 1 and "the database holds no practice yet" in result.stderr
