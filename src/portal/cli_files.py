"""The `portal` groups for the practice's files, as import and export beside the staff pages:
`portal availability load|show|export`, `portal forms load|show|export`, `portal terms publish`.
Each file is checked by the same rules as the browser (an unknown key is an error)."""

from __future__ import annotations

from pathlib import Path

import click

from portal.cli import _run, _settings


@click.group(name="availability", help="Providers' hours and self-scheduling rules.")
def availability_group() -> None:
    pass


@availability_group.command(name="load", help="Load hours and rules from a TOML file.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def availability_load(path: Path) -> None:
    from portal.scheduling.availability import AvailabilityError, load_file

    try:
        count = _run(lambda: load_file(path), _settings())
    except AvailabilityError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Loaded hours for {count} provider{'s' if count != 1 else ''} from {path}.")


@availability_group.command(name="show", help="Print every provider's hours and rules.")
def availability_show() -> None:
    from portal.scheduling.availability import describe

    click.echo(_run(describe, _settings()))


@availability_group.command(
    name="export", help="Print every provider's hours and rules as a file `load` reads (TOML)."
)
def availability_export() -> None:
    from portal.core.clock import utcnow
    from portal.scheduling.availability_export import export

    click.echo(_run(lambda: export(utcnow().date()), _settings()), nl=False)


@click.group(name="forms", help="My Docs & Forms: form templates and who must fill them in.")
def forms_group() -> None:
    pass


@forms_group.command(name="load", help="Load form templates and assignments (TOML or JSON).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def forms_load(path: Path) -> None:
    from portal.forms.definition import FormDefinitionError
    from portal.forms.loader import load_file

    try:
        result = _run(lambda: load_file(path), _settings())
    except FormDefinitionError as exc:
        raise click.ClickException(str(exc)) from exc
    n = len(result.created) + len(result.updated)
    click.echo(
        f"Loaded {n} form{'s' if n != 1 else ''} from {path} "
        f"({len(result.created)} new, {len(result.updated)} updated); "
        f"{result.assigned} new assignment{'s' if result.assigned != 1 else ''}."
    )


@forms_group.command(name="show", help="List form templates with open and submitted counts.")
def forms_show() -> None:
    from portal.forms.loader import describe

    click.echo(_run(describe, _settings()))


@forms_group.command(
    name="export", help="Print the active form templates as a file `forms load` reads (JSON)."
)
def forms_export() -> None:
    import json

    from portal.forms.loader import export

    click.echo(json.dumps(_run(export, _settings()), indent=2, ensure_ascii=False))


@click.group(name="terms", help="Terms of service for clients.")
def terms_group() -> None:
    pass


@terms_group.command(
    name="publish", help="Publish a new version; clients accept it at their next sign-in."
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "version", required=True, help="A name for this version, e.g. 2027-01.")
@click.option("--title", default="Terms of service")
def terms_publish(path: Path, version: str, title: str) -> None:
    from portal.practice import terms

    body = path.read_text(encoding="utf-8")
    try:
        _run(lambda: terms.publish(version, body, title), _settings())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Published terms of service version {version}.")
