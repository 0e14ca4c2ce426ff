"""Settings as an operator sees them: litestar.toml, then PORTAL_* environment overrides.

Every test passes its own `environ` (the process environment of the test run holds the
test database's URL, and must neither leak in nor be changed here).
"""

from __future__ import annotations

import stat
from pathlib import Path

import msgspec
import pytest

from portal.settings import PROJECT_ROOT, Settings, load

FILE = """
[database]
url = "postgresql://portal:secret@db.internal:5432/portal"

[server]
host = "10.0.0.5"
port = 8443
public_url = "https://portal.harbor.example"
run_worker = true

[security]
session_idle_minutes = 20
embed_origins = ["https://intranet.harbor.example"]

[mail]
smtp_host = "smtp.harbor.example"
smtp_port = 587
smtp_starttls = true
from_address = "portal@harbor.example"
"""


def write_config(directory: Path, text: str = FILE, name: str = "litestar.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- defaults -------------------------------------------------------------------------


def test_defaults_without_a_config_file(tmp_path):
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert s.root == str(tmp_path)
    assert s.database.url == "sqlite:///var/portal.db"
    assert s.sqlite_path == tmp_path / "var" / "portal.db"
    assert (s.server.host, s.server.port) == ("127.0.0.1", 8000)
    assert s.server.public_url == "http://127.0.0.1:8000"
    assert s.server.run_worker is True
    assert s.https is False
    assert s.security.secret_key == ""
    assert (s.security.session_idle_minutes, s.security.session_absolute_hours) == (30, 12)
    assert s.security.max_failures_per_account == 5
    assert s.security.max_failures_per_ip == 20
    assert s.security.throttle_window_minutes == 15
    assert s.security.embed_origins == []
    assert s.mail.smtp_host == ""  # no SMTP: mails go to files
    assert s.path(s.mail.outbox_dir) == tmp_path / "var" / "mail"


def test_nothing_is_written_just_by_loading(tmp_path):
    load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert list(tmp_path.iterdir()) == []


def test_default_root_is_the_project(tmp_path):
    s = load(environ={"PORTAL_CONFIG": str(tmp_path / "absent.toml")})
    assert s.root == str(PROJECT_ROOT)
    assert (PROJECT_ROOT / "pyproject.toml").exists()


def test_absolute_paths_stay_absolute(tmp_path):
    s = load(
        environ={
            "PORTAL_ROOT": str(tmp_path / "root"),
            "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/elsewhere/p.db",
            "PORTAL_MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )
    assert s.sqlite_path == tmp_path / "elsewhere" / "p.db"
    assert s.path(s.mail.outbox_dir) == tmp_path / "outbox"


# --- the file -------------------------------------------------------------------------


def assert_file_values(s: Settings) -> None:
    assert s.database.url == "postgresql://portal:secret@db.internal:5432/portal"
    assert s.sqlite_path is None  # PostgreSQL: no file
    assert (s.server.host, s.server.port) == ("10.0.0.5", 8443)
    assert s.https is True
    assert s.security.session_idle_minutes == 20
    assert s.security.session_absolute_hours == 12  # not in the file: the default
    assert s.security.embed_origins == ["https://intranet.harbor.example"]
    assert (s.mail.smtp_host, s.mail.smtp_port, s.mail.smtp_starttls) == (
        "smtp.harbor.example",
        587,
        True,
    )
    assert s.mail.from_address == "portal@harbor.example"


def test_values_from_a_file_given_by_path(tmp_path):
    path = write_config(tmp_path / "etc")
    s = load(path=path, environ={"PORTAL_ROOT": str(tmp_path)})
    assert_file_values(s)


def test_values_from_a_file_named_by_portal_config(tmp_path):
    path = write_config(tmp_path / "etc", name="portal.toml")
    s = load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_CONFIG": str(path)})
    assert_file_values(s)


def test_litestar_toml_under_portal_root_is_read_by_default(tmp_path):
    write_config(tmp_path)
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert_file_values(s)


def test_the_repository_litestar_toml_loads_cleanly(tmp_path):
    s = load(path=PROJECT_ROOT / "litestar.toml", environ={"PORTAL_ROOT": str(tmp_path)})
    # The shipped file keeps a fresh checkout self-contained: SQLite under the root.
    assert s.sqlite_path is not None
    assert s.sqlite_path.is_relative_to(tmp_path)
    assert s.https is False


def test_a_file_with_a_section_left_out_keeps_that_sections_defaults(tmp_path):
    path = write_config(tmp_path, "[server]\nport = 9000\n")
    s = load(path=path, environ={"PORTAL_ROOT": str(tmp_path)})
    assert s.server.port == 9000
    assert s.server.host == "127.0.0.1"
    assert s.database.url == "sqlite:///var/portal.db"


def test_a_wrongly_typed_value_in_the_file_fails_at_load_naming_the_key(tmp_path):
    path = write_config(tmp_path, '[server]\nport = "eighty"\n')
    with pytest.raises(msgspec.ValidationError, match=r"server\.port"):
        load(path=path, environ={"PORTAL_ROOT": str(tmp_path)})


def test_a_broken_toml_file_fails_at_load(tmp_path):
    path = write_config(tmp_path, "[server\nport = 1\n")
    with pytest.raises(ValueError, match="line 1"):
        load(path=path, environ={"PORTAL_ROOT": str(tmp_path)})


def test_relative_paths_follow_the_config_file_they_come_from(tmp_path):
    path = write_config(tmp_path / "srv", '[database]\nurl = "sqlite:///var/portal.db"\n')
    s = load(environ={"PORTAL_CONFIG": str(path)})
    assert s.sqlite_path == tmp_path / "srv" / "var" / "portal.db"


# --- environment overrides ------------------------------------------------------------


def test_environment_beats_the_file(tmp_path):
    path = write_config(tmp_path)
    s = load(
        path=path,
        environ={
            "PORTAL_ROOT": str(tmp_path),
            "PORTAL_DATABASE_URL": "sqlite:///var/override.db",
            "PORTAL_SERVER_PORT": "9001",
            "PORTAL_SERVER_RUN_WORKER": "false",
            "PORTAL_SECURITY_EMBED_ORIGINS": "https://a.example, https://b.example,",
            "PORTAL_MAIL_SMTP_STARTTLS": "0",
        },
    )
    assert s.database.url == "sqlite:///var/override.db"
    assert s.sqlite_path == tmp_path / "var" / "override.db"
    assert s.server.port == 9001 and isinstance(s.server.port, int)
    assert s.server.run_worker is False
    assert s.security.embed_origins == ["https://a.example", "https://b.example"]
    assert s.mail.smtp_starttls is False
    # What the environment does not name still comes from the file.
    assert s.server.host == "10.0.0.5"
    assert s.mail.smtp_port == 587
    assert s.security.session_idle_minutes == 20


def test_environment_alone_without_a_file(tmp_path):
    s = load(
        environ={
            "PORTAL_ROOT": str(tmp_path),
            "PORTAL_SERVER_PUBLIC_URL": "https://portal.example",
            "PORTAL_SECURITY_SESSION_ABSOLUTE_HOURS": "8",
            "PORTAL_SECURITY_SECRET_KEY": "k" * 40,
        }
    )
    assert s.https is True
    assert s.security.session_absolute_hours == 8
    assert s.security.secret_key == "k" * 40


def test_every_key_of_every_section_can_be_set_from_the_environment(tmp_path):
    # Guards against a new section or key that the environment cannot reach.
    environ, expected = {"PORTAL_ROOT": str(tmp_path)}, {}
    defaults = Settings()
    for section in msgspec.structs.fields(Settings):
        if section.name == "root":
            continue
        for key in msgspec.structs.fields(section.type):
            current = getattr(getattr(defaults, section.name), key.name)
            if isinstance(current, bool):
                raw, value = ("false", False) if current else ("true", True)
            elif isinstance(current, int):
                raw, value = str(current + 7), current + 7
            elif isinstance(current, list) and key.name == "trusted_proxies":
                raw, value = "192.0.2.1", ["192.0.2.1"]  # checked: addresses only
            elif isinstance(current, list):
                raw, value = "https://x.example", ["https://x.example"]
            else:
                raw = value = f"set-{section.name}-{key.name}"
            environ[f"PORTAL_{section.name}_{key.name}".upper()] = raw
            expected[(section.name, key.name)] = value
    s = load(environ=environ)
    for (section, key), value in expected.items():
        assert getattr(getattr(s, section), key) == value, f"{section}.{key}"


def test_process_environment_is_read_when_none_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_ROOT", str(tmp_path))
    monkeypatch.setenv("PORTAL_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "sqlite:///var/from-env.db")
    monkeypatch.setenv("PORTAL_SERVER_PORT", "8123")
    s = load()
    assert s.sqlite_path == tmp_path / "var" / "from-env.db"
    assert s.server.port == 8123


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " yes ", "on", "True"])
def test_truthy_booleans(tmp_path, raw):
    s = load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SERVER_RUN_WORKER": raw})
    assert s.server.run_worker is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off"])
def test_falsy_booleans(tmp_path, raw):
    s = load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SERVER_RUN_WORKER": raw})
    assert s.server.run_worker is False


def test_empty_embed_origins_variable_means_none(tmp_path):
    write_config(tmp_path)
    s = load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SECURITY_EMBED_ORIGINS": ""})
    assert s.security.embed_origins == []


def test_a_bad_number_fails_at_load_naming_the_key(tmp_path):
    with pytest.raises(msgspec.ValidationError, match=r"server\.port") as exc:
        load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SERVER_PORT": "abc"})
    assert "int" in str(exc.value)


@pytest.mark.parametrize("raw", ["ture", "enabled", "maybe"])
def test_a_bad_boolean_fails_at_load_naming_the_key(tmp_path, raw):
    with pytest.raises(msgspec.ValidationError, match=r"server\.run_worker"):
        load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SERVER_RUN_WORKER": raw})


def test_unrelated_variables_are_ignored(tmp_path):
    s = load(
        environ={
            "PORTAL_ROOT": str(tmp_path),
            "PORTAL_TEST_DATABASE": "postgresql://x@y/z",
            "PORTAL_SERVER": "nonsense",
            "DATABASE_URL": "postgresql://x@y/z",
        }
    )
    assert s == load(environ={"PORTAL_ROOT": str(tmp_path)})


# --- the signing secret ---------------------------------------------------------------


def test_secret_is_generated_once_into_var_with_mode_0600(tmp_path):
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    key_file = tmp_path / "var" / "secret.key"
    assert not key_file.exists()

    key = s.secret()
    assert key_file.exists()
    assert mode(key_file) == 0o600
    assert key_file.read_text().strip() == key
    assert len(key) >= 32

    assert s.secret() == key  # same object, again
    assert load(environ={"PORTAL_ROOT": str(tmp_path)}).secret() == key  # next start
    assert key_file.read_text().strip() == key


def test_secrets_differ_between_installations(tmp_path):
    one = load(environ={"PORTAL_ROOT": str(tmp_path / "one")}).secret()
    two = load(environ={"PORTAL_ROOT": str(tmp_path / "two")}).secret()
    assert one != two


def test_configured_secret_key_is_used_and_no_file_written(tmp_path):
    s = load(
        environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SECURITY_SECRET_KEY": "configured-" * 4}
    )
    assert s.secret() == "configured-" * 4
    assert not (tmp_path / "var" / "secret.key").exists()
    assert list(tmp_path.iterdir()) == []


def test_secret_key_from_the_file_is_used(tmp_path):
    write_config(tmp_path, '[security]\nsecret_key = "from-the-file-0123456789abcdef"\n')
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert s.secret() == "from-the-file-0123456789abcdef"
    assert not (tmp_path / "var").exists()


def test_secret_file_location_is_configurable(tmp_path):
    target = tmp_path / "keys" / "portal.key"
    s = load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SECURITY_SECRET_FILE": str(target)})
    key = s.secret()
    assert target.read_text().strip() == key
    assert mode(target) == 0o600
    assert not (tmp_path / "var").exists()


def test_an_existing_secret_file_is_kept(tmp_path):
    key_file = tmp_path / "var" / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text("an-operator-provided-key-0123456789abcdef\n")
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert s.secret() == "an-operator-provided-key-0123456789abcdef"
    assert key_file.read_text() == "an-operator-provided-key-0123456789abcdef\n"


def test_an_empty_secret_file_is_never_used_as_the_secret(tmp_path):
    key_file = tmp_path / "var" / "secret.key"
    key_file.parent.mkdir()
    key_file.write_text("\n")
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    try:
        key = s.secret()
    except Exception as exc:  # refusing, with the file named, is a fine answer
        assert "secret" in str(exc)
    else:
        assert len(key) >= 32


# --- reverse proxies ------------------------------------------------------------------


def test_no_proxy_is_trusted_by_default_or_in_the_shipped_file(tmp_path):
    assert load(environ={"PORTAL_ROOT": str(tmp_path)}).server.trusted_proxies == []
    shipped = load(path=PROJECT_ROOT / "litestar.toml", environ={"PORTAL_ROOT": str(tmp_path)})
    assert shipped.server.trusted_proxies == []


def test_trusted_proxies_from_the_file_or_the_environment_as_uvicorn_compares_them(tmp_path):
    write_config(tmp_path, '[server]\ntrusted_proxies = ["127.0.0.1", "10.1.2.3/8", "::1"]\n')
    s = load(environ={"PORTAL_ROOT": str(tmp_path)})
    assert s.server.trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    s = load(
        environ={
            "PORTAL_ROOT": str(tmp_path),
            "PORTAL_SERVER_TRUSTED_PROXIES": " 192.0.2.10 , 2001:DB8::/32",
        }
    )
    assert s.server.trusted_proxies == ["192.0.2.10", "2001:db8::/32"]


@pytest.mark.parametrize("raw", ["*", "proxy.internal", "127.0.0.256", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_no_address_fails_at_load_naming_the_key(tmp_path, raw):
    with pytest.raises(msgspec.ValidationError, match=r"server\.trusted_proxies"):
        load(environ={"PORTAL_ROOT": str(tmp_path), "PORTAL_SERVER_TRUSTED_PROXIES": raw})
