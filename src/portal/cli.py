"""The `portal` command: Litestar's CLI with the app preset, plus the portal's own groups.

portal run [--workers N]        serve with uvicorn, in one process or N worker processes
portal db migrate               apply migrations
portal demo [--password P]      seed the demo practice into an empty database
portal demo intranet [--port N] a page on another port embedding the demo's widgets
portal users create ...         add a user
"""

from __future__ import annotations

import asyncio
import getpass
import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
from litestar.cli.main import litestar_group

from portal.core import db
from portal.settings import Settings, load

DEMO_SIGN_INS = "var/demo-sign-ins.txt"


def _settings() -> Settings:
    return load()


def _run(coro_fn, settings: Settings):  # noqa: ANN001, ANN202
    """Run a coroutine with the tables bound to the configured database."""

    async def main():  # noqa: ANN202
        engine = db.make_engine(settings)
        db.bind(engine)
        await db.open_pool(engine, max_size=4)
        try:
            if not await db.is_migrated(engine):
                raise click.ClickException(
                    "The database has no tables yet: run `portal db migrate` first."
                )
            return await coro_fn()
        finally:
            await db.close_pool(engine)

    return asyncio.run(main())


# What `portal run` serves: an import string, so that each uvicorn worker process builds
# its own app (reading the same settings: litestar.toml and the PORTAL_* variables it inherits).
APP = "portal.app:create_app"


def proxy_options(settings: Settings) -> dict:
    """uvicorn's forwarded-header options from `server.trusted_proxies`.

    Always explicit: left unset, uvicorn reads FORWARDED_ALLOW_IPS or trusts 127.0.0.1, so
    anyone able to connect from the machine itself could name their own address.
    """
    trusted = list(settings.server.trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    ip = _ip(host)
    return host.lower().rstrip(".") == "localhost" or bool(ip and ip.is_loopback)


def public_url_warning(
    public_url: str, host: str | None, port: int | None, *, trusted_proxies: list[str] = ()
) -> str:
    """Why `server.public_url` looks wrong for where `portal run` listens ("" when it fits).

    Every link in mails and in the guide PDF is built from it. `host`/`port` None: a UNIX
    socket or a file descriptor, where only a loopback public URL is certainly wrong.
    """
    parts = urlsplit(public_url)
    pub_host = parts.hostname or ""
    try:
        pub_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        pub_port = None
    where = f"{host}:{port}" if host is not None else "a socket"
    fix = (
        "Links in every mail and in the guide PDF use it: set PORTAL_SERVER_PUBLIC_URL "
        "(or server.public_url in litestar.toml) to the address people open the portal at."
    )
    if host is None:
        if _is_loopback(pub_host):
            return f"server.public_url is {public_url}, but the server listens on {where}. {fix}"
        return ""
    if _is_loopback(pub_host):
        if not _is_loopback(host):
            return (
                f"server.public_url is {public_url}, but the server listens on {where}: "
                f"anyone on another machine who follows a link goes to their own computer. {fix}"
            )
        if pub_port != port:
            return (
                f"server.public_url is {public_url}, but the server listens on {where}: "
                f"links go to port {pub_port}, where the portal is not. {fix}"
            )
        return ""
    listen_ip, pub_ip = _ip(host), _ip(pub_host)
    if listen_ip and pub_ip and not listen_ip.is_unspecified and listen_ip != pub_ip:
        return f"server.public_url is {public_url}, but the server listens on {where}. {fix}"
    # Reached directly (not behind a proxy on this machine): the port must be the same too.
    if not _is_loopback(host) and not trusted_proxies and pub_port != port:
        return (
            f"server.public_url is {public_url} (port {pub_port}), but the server listens on "
            f"{where} and no proxy is configured (server.trusted_proxies). {fix}"
        )
    return ""


@click.command(name="run", help="Serve the portal with uvicorn: one process, or --workers N.")
@click.option("-H", "--host", default=None, help="Listen on this address (default: server.host).")
@click.option(
    "-p", "--port", type=int, default=None, help="Listen on this port (default: server.port)."
)
@click.option(
    "-W",
    "--workers",
    "--wc",
    "--web-concurrency",
    "workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="WEB_CONCURRENCY",
    help="Worker processes, each a whole app sharing the one database and the listening socket.",
)
@click.option("-r", "--reload", is_flag=True, help="Restart on source changes (one process).")
@click.option("-U", "--uds", default=None, help="Listen on this UNIX domain socket instead.")
@click.option("-F", "--fd", type=int, default=None, help="Listen on this file descriptor instead.")
@click.option("--ssl-certfile", default=None, help="Serve HTTPS with this certificate.")
@click.option("--ssl-keyfile", default=None, help="... and this key.")
def run_command(
    host: str | None,
    port: int | None,
    workers: int,
    reload: bool,
    uds: str | None,
    fd: int | None,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> None:
    import uvicorn

    if reload and workers > 1:
        raise click.UsageError("--reload serves one process: leave out --workers.")
    settings = _settings()
    # Every worker signs CSRF tokens and derives the encryption key from the app secret.
    # Read it (generating var/secret.key if need be) here, once, before any worker starts,
    # so that all of them read the same file and a bad one stops the start.
    settings.secret()
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    listens = uds is None and fd is None
    if warning := public_url_warning(
        settings.server.public_url,
        host if listens else None,
        port if listens else None,
        trusted_proxies=list(settings.server.trusted_proxies),
    ):
        click.secho(f"WARNING: {warning}", err=True, fg="yellow", bold=True)
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        uds=uds,
        fd=fd,
        workers=workers,
        reload=reload,
        reload_dirs=[str(Path(__file__).resolve().parent)] if reload else None,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        # X-Forwarded-For/-Proto only from the proxies named in server.trusted_proxies;
        # none by default (uvicorn's own default believes any local process). Every worker
        # process gets this same config.
        **proxy_options(settings),
        # A lifespan that fails (no database, say) stops the server instead of serving errors.
        lifespan="on",
    )


@click.group(name="db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command(name="migrate", help="Apply every pending migration.")
def db_migrate() -> None:
    from portal.core.migrate import migrate

    settings = _settings()
    asyncio.run(migrate(settings))


@click.group(name="demo", invoke_without_command=True,
             help="Seed a demo practice into an empty database (`portal demo intranet`: a "
                  "page embedding it).")  # fmt: skip
@click.option("--password", default=None, help="Password for every demo account (default: random).")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Seed only when the database holds no practice; otherwise print the saved sign-ins.",
)
def demo_command(password: str | None, if_empty: bool) -> None:
    if click.get_current_context().invoked_subcommand is not None:
        return
    from portal.demo.practice import DemoRefused, seed

    settings = _settings()
    saved = settings.path(DEMO_SIGN_INS)
    try:
        result = _run(lambda: seed(password), settings)
    except DemoRefused as exc:
        if not if_empty:
            raise click.ClickException(str(exc)) from exc
        if saved.exists():
            click.echo(saved.read_text())
        else:
            click.echo("The database already holds a practice; sign in with its accounts.")
        return
    lines = [
        "Demo practice ready: Harbor Counseling Group",
        f"Sign in at {settings.server.public_url}/login with any of these usernames,",
        f"all with the password: {result.password}",
        "",
    ]
    lines += [f"  {username:<10} {what}" for username, what in result.usernames]
    text = "\n".join(lines) + "\n"
    saved.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    click.echo(text)


@demo_command.command(name="intranet", help="Serve a page on another port that embeds the "
                      "demo practice's widgets all three ways (docs/embedding.md).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--portal", "portal_url", default=None,
              help="The portal's address (default: server.public_url).")  # fmt: skip
def demo_intranet(host: str, port: int, portal_url: str | None) -> None:
    import uvicorn

    from portal.demo.intranet import create_intranet_app, prepare

    settings = _settings()
    origin = f"http://{host}:{port}"
    try:
        token, client = _run(lambda: prepare(origin), settings)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    portal = portal_url or settings.server.public_url
    click.echo(f"Demo intranet at {origin}/ embedding client #{client} from {portal}")
    click.echo(f"({origin} is now on the practice's embed allow-list; the page's API token "
               "lasts a day and is listed under Staff > Embedding.)")  # fmt: skip
    uvicorn.run(create_intranet_app(portal, token, client, origin), host=host, port=port,
                log_level="warning")  # fmt: skip


@click.group(name="users", help="Portal accounts.")
def users_group() -> None:
    pass


@users_group.command(name="create", help="Create a user (asks for the password).")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["client", "owner", "manager", "provider", "scheduler", "biller"]),
)
@click.option("--first-name", default="", help="Client or provider first name.")
@click.option("--last-name", default="", help="Client or provider last name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    username: str, email: str, role: str, first_name: str, last_name: str, password_stdin: bool
) -> None:
    from portal.accounts.users import UserInputError, create_account

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise click.ClickException("The passwords differ.")
    try:
        user_id = _run(
            lambda: create_account(username, email, password, role, first_name, last_name),
            _settings(),
        )
    except UserInputError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {role} {username!r} (user id {user_id}).")


@click.command(name="worker", help="Send the mail outbox (when the web process does not).")
@click.option("--once", is_flag=True, help="Send what is due, then exit.")
def worker_command(once: bool) -> None:
    from portal.core.mail import Worker

    settings = _settings()
    worker = Worker(settings.mail, root=Path(settings.root))

    async def work():  # noqa: ANN202
        if once:
            result = await worker.run_once(limit=1000)
            click.echo(f"sent {result.sent}, failed {result.failed}")
        else:
            await worker.run_forever()

    _run(work, settings)


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", "portal.app:create_app")
    os.environ.setdefault("PICCOLO_CONF", "portal.core.piccolo_conf")
    # Relative paths in litestar.toml (var/...) are relative to the project.
    if "PORTAL_ROOT" not in os.environ and Path("litestar.toml").exists():
        os.environ["PORTAL_ROOT"] = str(Path.cwd())
    litestar_group.add_command(run_command)  # in place of Litestar's own `run`
    litestar_group.add_command(db_group)
    litestar_group.add_command(demo_command)
    litestar_group.add_command(users_group)
    litestar_group.add_command(worker_command)
    from portal.cli_files import availability_group, forms_group, terms_group

    litestar_group.add_command(availability_group)
    litestar_group.add_command(terms_group)
    litestar_group.add_command(forms_group)
    litestar_group(prog_name="portal")


if __name__ == "__main__":
    main()
