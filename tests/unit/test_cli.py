"""The `portal` command as an operator runs it: a real subprocess on its own SQLite file.

Every run gets PORTAL_ROOT=<tmp dir>, its own database file and a PORTAL_CONFIG that
does not exist, so neither the repository's litestar.toml nor the test database (nor any
PORTAL_* variable of the test run) is touched. The database is read back with the
`sqlite3` module, the stored password hashes with `portal.accounts.passwords.verify_password`.

`portal demo` computes 28 argon2 hashes, so the demo databases are seeded once per
module, in parallel, and shared; tests that write take a copy.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from portal.accounts.passwords import verify_password

PORTAL = Path(sys.executable).with_name("portal")
PASSWORD = "harbor-demo-pass"
SIGN_INS = "var/demo-sign-ins.txt"
DEMO_USERNAMES = ["client", "owner", "manager", "provider", "scheduler", "biller"]
TABLES = {
    "practice",
    "location",
    "portal_user",
    "portal_session",
    "login_attempt",
    "audit_event",
    "client",
    "provider",
    "service",
    "appointment",
    "ledger_entry",
}


# --- running the command --------------------------------------------------------------


def env_for(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "LITESTAR_", "PICCOLO_"))
    }
    env.update(
        PORTAL_ROOT=str(root),
        PORTAL_DATABASE_URL=f"sqlite:///{root}/p.db",
        PORTAL_CONFIG=str(root / "no-such-litestar.toml"),
        COLUMNS="200",  # error boxes are not wrapped mid-sentence
        NO_COLOR="1",
    )
    return env


def start(root: Path, *args: str, stdin: str | None = None) -> subprocess.Popen:
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [str(PORTAL), *args],
        cwd=root,
        env=env_for(root),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc._portal_stdin = stdin  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(proc._portal_stdin, timeout=300)  # type: ignore[attr-defined]
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def portal(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return finish(start(root, *args, stdin=stdin))


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def said(result: subprocess.CompletedProcess) -> str:
    """Everything the operator saw on the terminal."""
    return result.stdout + result.stderr


# --- reading the database back --------------------------------------------------------


def connect(root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(root / "p.db")
    conn.row_factory = sqlite3.Row
    return conn


def query(root: Path, sql: str, *params) -> list[sqlite3.Row]:
    conn = connect(root)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def scalar(root: Path, sql: str, *params):
    return query(root, sql, *params)[0][0]


def table_names(root: Path) -> set[str]:
    rows = query(root, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


def row_counts(root: Path) -> dict[str, int]:
    return {t: scalar(root, f'SELECT count(*) FROM "{t}"') for t in sorted(TABLES)}  # noqa: S608


def password_hash(root: Path, username: str) -> str | None:
    rows = query(root, "SELECT password_hash FROM portal_user WHERE username = ?", username)
    return rows[0]["password_hash"] if rows else None


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy of a (WAL-mode) database into a fresh root, nothing else."""
    target.mkdir(parents=True)
    src, dst = sqlite3.connect(source / "p.db"), sqlite3.connect(target / "p.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def printed_password(result: subprocess.CompletedProcess) -> str:
    m = re.search(r"all with the password: (\S+)", result.stdout)
    assert m, result.stdout
    return m.group(1)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


# --- shared databases -----------------------------------------------------------------


@dataclass
class Seeded:
    root: Path
    result: subprocess.CompletedProcess


@dataclass
class Demos:
    known: Seeded  # `portal demo --password PASSWORD`
    random: Seeded  # `portal demo`
    if_empty: Seeded  # `portal demo --if-empty` on an empty database: seeds it


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Demos:
    roots = [tmp_path_factory.mktemp(name) for name in ("known", "random", "if-empty")]
    for proc in [start(root, "db", "migrate") for root in roots]:
        ok(finish(proc))
    argv = [("demo", "--password", PASSWORD), ("demo",), ("demo", "--if-empty")]
    procs = [start(root, *args) for root, args in zip(roots, argv, strict=True)]
    results = [finish(p) for p in procs]
    return Demos(*(Seeded(root, result) for root, result in zip(roots, results, strict=True)))


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated database: no practice yet."""
    root = tmp_path_factory.mktemp("migrated")
    ok(portal(root, "db", "migrate"))
    return root


@pytest.fixture
def seeded_copy(demos: Demos, tmp_path: Path) -> Path:
    """A private copy of the demo database (password PASSWORD), without var/."""
    return copy_database(demos.known.root, tmp_path / "copy")


# --- portal db migrate ----------------------------------------------------------------


def test_db_migrate_creates_the_schema_and_can_run_again(tmp_path):
    result = ok(portal(tmp_path, "db", "migrate"))
    assert "Traceback" not in said(result)
    assert TABLES <= table_names(tmp_path)
    assert all(n == 0 for n in row_counts(tmp_path).values())
    assert scalar(tmp_path, "PRAGMA journal_mode") == "wal"
    applied = scalar(tmp_path, "SELECT count(*) FROM migration")
    assert applied >= 1

    again = ok(portal(tmp_path, "db", "migrate"))
    assert "Traceback" not in said(again)
    assert TABLES <= table_names(tmp_path)
    assert scalar(tmp_path, "SELECT count(*) FROM migration") == applied


def test_db_migrate_on_a_seeded_database_keeps_its_data(seeded_copy):
    before = row_counts(seeded_copy)
    ok(portal(seeded_copy, "db", "migrate"))
    assert row_counts(seeded_copy) == before


# --- portal demo: what it prints ------------------------------------------------------


def test_demo_prints_where_and_how_to_sign_in(demos):
    result = ok(demos.known.result)
    out = result.stdout
    assert "Harbor Counseling Group" in out
    assert "http://127.0.0.1:8000/login" in out  # the default public URL
    assert printed_password(result) == PASSWORD
    listed = re.findall(r"^\s+(\S+)\s+(\w+) \(", out, flags=re.MULTILINE)
    usernames = {u for u, _ in listed}
    assert set(DEMO_USERNAMES) <= usernames
    # Each listed account exists with the role it is listed under.
    for username, role in listed:
        rows = query(demos.known.root, "SELECT role FROM portal_user WHERE username = ?", username)
        assert [r["role"] for r in rows] == [role], username


def test_every_printed_sign_in_works_with_the_printed_password(demos):
    root = demos.known.root
    for username in DEMO_USERNAMES:
        h = password_hash(root, username)
        assert h is not None, username
        assert verify_password(h, PASSWORD), username
        assert not verify_password(h, PASSWORD + "x"), username
    assert scalar(root, "SELECT count(*) FROM portal_user WHERE active = 0") == 0


def test_no_password_is_stored_in_clear(demos):
    for row in query(demos.known.root, "SELECT password_hash FROM portal_user"):
        assert row["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in row["password_hash"]


def test_saved_sign_ins_file_is_private_and_matches_the_output(demos):
    saved = demos.known.root / SIGN_INS
    assert saved.exists()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text()
    assert text.strip() == demos.known.result.stdout.strip()
    assert PASSWORD in text


def test_without_password_each_fresh_database_gets_its_own_random_one(demos):
    first, second = ok(demos.random.result), ok(demos.if_empty.result)
    p1, p2 = printed_password(first), printed_password(second)
    assert p1 != p2
    assert PASSWORD not in (p1, p2)
    assert min(len(p1), len(p2)) >= 12
    for seeded, password in ((demos.random, p1), (demos.if_empty, p2)):
        assert verify_password(password_hash(seeded.root, "owner"), password)
        assert verify_password(password_hash(seeded.root, "client"), password)
        assert password in (seeded.root / SIGN_INS).read_text()
    # One database's password does not open the other.
    assert not verify_password(password_hash(demos.random.root, "owner"), p2)


def test_if_empty_on_an_empty_database_seeds_it(demos):
    root = demos.if_empty.root
    assert scalar(root, "SELECT count(*) FROM practice") == 1
    # Twenty with portal accounts, and two for the staff side: one to invite, one waiting.
    assert scalar(root, "SELECT count(*) FROM client") == 22
    assert "Demo practice ready" in demos.if_empty.result.stdout


# --- portal demo: the data is believable ----------------------------------------------


def test_demo_practice_has_three_providers_with_accounts(demos):
    root = demos.known.root
    practice = query(root, "SELECT * FROM practice")
    assert len(practice) == 1
    assert practice[0]["name"] == "Harbor Counseling Group"
    assert ZoneInfo(practice[0]["time_zone"])  # a real IANA zone
    providers = query(
        root,
        "SELECT p.*, u.role FROM provider p JOIN portal_user u ON u.id = p.user",
    )
    assert len(providers) == 3
    assert {p["role"] for p in providers} == {"provider"}
    assert len({p["display_name"] for p in providers}) == 3
    assert all(re.fullmatch(r"\d{10}", p["npi"]) for p in providers)
    assert all(p["practice"] == practice[0]["id"] for p in providers)


def test_demo_services_have_cpt_codes_prices_and_durations(demos):
    services = query(demos.known.root, "SELECT * FROM service")
    assert len(services) >= 3
    for s in services:
        assert re.fullmatch(r"\d{5}", s["cpt_code"]), s["cpt_code"]
        assert isinstance(s["price_cents"], int) and s["price_cents"] > 0
        assert 15 <= s["duration_minutes"] <= 180
    assert len({s["cpt_code"] for s in services}) == len(services)
    assert any(s["client_may_schedule"] for s in services)


def test_demo_has_what_superbills_need(demos):
    root = demos.known.root
    [practice] = query(root, "SELECT npi, tax_id FROM practice")
    assert re.fullmatch(r"\d{10}", practice["npi"]) and re.fullmatch(
        r"\d\d-\d{7}", practice["tax_id"]
    )
    for c in query(root, "SELECT * FROM client"):
        assert c["address_line1"] and c["city"] and c["region"] and c["postal_code"], dict(c)
        assert c["date_of_birth"]
    charged = query(
        root,
        "SELECT a.diagnosis_codes FROM ledger_entry l JOIN appointment a ON a.id = l.appointment"
        " WHERE l.kind = 'charge'",
    )
    assert charged and all(
        re.fullmatch(r"[A-Z]\d\d(\.\d{1,4})?(, [A-Z]\d\d(\.\d{1,4})?)*", r["diagnosis_codes"])
        for r in charged
    ), {r["diagnosis_codes"] for r in charged}
    assert all(p["npi"] for p in query(root, "SELECT npi FROM provider"))


def test_demo_has_two_locations_and_twenty_clients(demos):
    root = demos.known.root
    assert scalar(root, "SELECT count(*) FROM location") == 2
    clients = query(
        root, "SELECT c.*, u.role, u.username FROM client c JOIN portal_user u ON u.id = c.user"
    )
    assert len(clients) == 20
    assert {c["role"] for c in clients} == {"client"}
    assert len({c["user"] for c in clients}) == 20
    assert all(c["first_name"] and c["last_name"] for c in clients)
    assert len({(c["first_name"], c["last_name"]) for c in clients}) == 20
    roles = Counter(r["role"] for r in query(root, "SELECT role FROM portal_user"))
    assert roles == {
        "client": 20,
        "provider": 3,
        "owner": 1,
        "manager": 1,
        "scheduler": 1,
        "biller": 1,
    }


def test_demo_appointments_lie_in_the_past_and_the_future_with_fitting_statuses(demos):
    root = demos.known.root
    now = datetime.now(UTC)
    tz = ZoneInfo(scalar(root, "SELECT time_zone FROM practice"))
    rows = query(root, "SELECT * FROM appointment")
    past = [r for r in rows if when(r["starts_at"]) < now]
    upcoming = [r for r in rows if when(r["starts_at"]) > now]
    assert len(past) >= 20 and len(upcoming) >= 20
    # What already happened is completed (or missed); what is ahead is not.
    assert {r["status"] for r in past} <= {"completed", "no_show"}
    assert {r["status"] for r in upcoming} <= {"scheduled", "confirmed"}
    assert {"completed", "no_show"} == {r["status"] for r in past}
    assert {"scheduled", "confirmed"} == {r["status"] for r in upcoming}
    for r in rows:
        start, end = when(r["starts_at"]), when(r["ends_at"])
        assert end > start
        local = start.astimezone(tz)
        assert local.weekday() < 5 and 8 <= local.hour and end.astimezone(tz).hour <= 18
        # In person at a location, or telehealth: never neither.
        assert bool(r["telehealth"]) != (r["location"] is not None)
    # Upcoming telehealth sessions carry a join link.
    assert all(r["telehealth_url"].startswith("https://") for r in upcoming if r["telehealth"])
    # The schedule spans weeks, not one day.
    assert max(when(r["starts_at"]) for r in rows) - min(
        when(r["starts_at"]) for r in rows
    ) > timedelta(weeks=6)


def test_demo_never_double_books_a_provider(demos):
    rows = query(demos.known.root, "SELECT provider, starts_at, ends_at FROM appointment")
    by_provider: dict[int, list[tuple[datetime, datetime]]] = {}
    for r in rows:
        by_provider.setdefault(r["provider"], []).append((when(r["starts_at"]), when(r["ends_at"])))
    for provider, spans in by_provider.items():
        spans.sort()
        for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
            assert end <= next_start, f"provider {provider} double-booked at {next_start}"


def test_demo_ledger_charges_completed_sessions_and_some_clients_owe(demos):
    root = demos.known.root
    kinds = Counter(r["kind"] for r in query(root, "SELECT kind FROM ledger_entry"))
    assert kinds["charge"] > 0 and kinds["payment"] > 0
    assert all(
        isinstance(r["amount_cents"], int) and r["amount_cents"] > 0
        for r in query(root, "SELECT amount_cents FROM ledger_entry")
    )
    charged = query(
        root,
        "SELECT a.status, a.client AS appt_client, l.client AS entry_client"
        " FROM ledger_entry l JOIN appointment a ON a.id = l.appointment"
        " WHERE l.kind = 'charge'",
    )
    assert len(charged) == kinds["charge"]  # every charge is for a session
    assert {r["status"] for r in charged} == {"completed"}
    assert all(r["appt_client"] == r["entry_client"] for r in charged)
    assert kinds["charge"] == scalar(
        root, "SELECT count(*) FROM appointment WHERE status = 'completed'"
    )
    # Charges minus payments: some clients owe money, some are paid up.
    balances = {
        r["client"]: r["balance"]
        for r in query(
            root,
            "SELECT client, sum(CASE kind WHEN 'charge' THEN amount_cents"
            " WHEN 'payment' THEN -amount_cents ELSE 0 END) AS balance"
            " FROM ledger_entry GROUP BY client",
        )
    }
    assert any(b > 0 for b in balances.values())
    assert any(b == 0 for b in balances.values())


# --- portal demo on a database that already holds a practice --------------------------


def test_second_demo_refuses_clearly_and_changes_nothing(demos, seeded_copy):
    # The copy has no var/: give it the original's saved sign-ins to watch.
    saved = seeded_copy / SIGN_INS
    saved.parent.mkdir()
    saved.write_text((demos.known.root / SIGN_INS).read_text())
    before, saved_before = row_counts(seeded_copy), saved.read_text()

    result = portal(seeded_copy, "demo", "--password", "another-password")
    assert result.returncode != 0
    assert "already holds a practice" in said(result)
    assert "Traceback" not in said(result)
    assert "another-password" not in said(result)

    assert row_counts(seeded_copy) == before
    assert saved.read_text() == saved_before
    owner = password_hash(seeded_copy, "owner")
    assert verify_password(owner, PASSWORD)
    assert not verify_password(owner, "another-password")


def test_if_empty_on_a_seeded_database_prints_the_saved_sign_ins(demos, tmp_path):
    # A private copy of the whole installation: database and var/.
    root = copy_database(demos.known.root, tmp_path / "copy")
    (root / "var").mkdir()
    (root / SIGN_INS).write_text((demos.known.root / SIGN_INS).read_text())
    before = row_counts(root)

    result = ok(portal(root, "demo", "--if-empty"))
    assert printed_password(result) == PASSWORD
    for username in DEMO_USERNAMES:
        assert re.search(rf"^\s+{username}\s", result.stdout, flags=re.MULTILINE), username
    assert row_counts(root) == before


def test_if_empty_on_a_seeded_database_without_saved_sign_ins_says_so(seeded_copy):
    before = row_counts(seeded_copy)
    result = ok(portal(seeded_copy, "demo", "--if-empty"))
    assert "already holds a practice" in result.stdout
    assert "password" not in result.stdout.lower()
    assert row_counts(seeded_copy) == before


def test_demo_before_migrate_tells_the_operator_what_to_do(tmp_path):
    result = portal(tmp_path, "demo", "--password", PASSWORD)
    assert result.returncode != 0
    assert "Traceback" not in said(result)
    assert "portal db migrate" in said(result)


# --- portal users create --------------------------------------------------------------


def create_user(root: Path, username: str, password: str, role: str = "owner", *extra: str):
    return portal(
        root,
        "users",
        "create",
        "--username",
        username,
        "--email",
        f"{username.strip().lower()}@e.example",
        "--role",
        role,
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


def users_named(root: Path, username: str) -> list[sqlite3.Row]:
    return query(root, "SELECT * FROM portal_user WHERE username = ?", username)


def test_users_create_owner_with_password_on_stdin(migrated):
    result = ok(create_user(migrated, "dana", "a long staff passphrase"))
    assert "Created owner 'dana'" in result.stdout
    assert "a long staff passphrase" not in said(result)
    [user] = users_named(migrated, "dana")
    assert user["role"] == "owner"
    assert user["email"] == "dana@e.example"
    assert user["active"] == 1
    assert f"user id {user['id']}" in result.stdout
    assert verify_password(user["password_hash"], "a long staff passphrase")
    assert not verify_password(user["password_hash"], "a long staff passphrase ")
    assert user["password_hash"].startswith("$argon2id$")


def test_users_create_stores_the_username_trimmed_and_lower_case_and_refuses_it_again(
    migrated,
):
    ok(create_user(migrated, "  Taken ", "first passphrase"))
    [user] = users_named(migrated, "taken")
    assert verify_password(user["password_hash"], "first passphrase")
    for variant in ("taken", "TAKEN"):
        result = create_user(migrated, variant, "second passphrase")
        assert result.returncode != 0
        assert "'taken' is taken" in said(result) and "Traceback" not in said(result)
    [user] = users_named(migrated, "taken")
    assert verify_password(user["password_hash"], "first passphrase")


def test_users_create_refuses_a_seven_character_password_and_accepts_eight(migrated):
    short = create_user(migrated, "shorty", "q7#Lm2x")
    assert short.returncode != 0
    assert "at least 8 characters" in said(short)
    assert users_named(migrated, "shorty") == []

    ok(create_user(migrated, "shorty", "q7#Lm2xZ"))
    [user] = users_named(migrated, "shorty")
    assert verify_password(user["password_hash"], "q7#Lm2xZ")


def test_users_create_refuses_an_email_without_at(migrated):
    result = portal(
        migrated,
        "users",
        "create",
        "--username",
        "noemail",
        "--email",
        "not-an-address",
        "--role",
        "biller",
        "--password-stdin",
        stdin="a fine passphrase\n",
    )
    assert result.returncode != 0
    assert "valid email" in said(result)
    assert users_named(migrated, "noemail") == []


def test_users_create_refuses_a_common_password(migrated):
    result = create_user(migrated, "common", "password123")
    assert result.returncode != 0
    assert "most common" in said(result)
    assert users_named(migrated, "common") == []


def test_users_create_refuses_an_unknown_role(migrated):
    result = create_user(migrated, "root", "a fine passphrase", "admin")
    assert result.returncode != 0
    assert "admin" in said(result)
    assert users_named(migrated, "root") == []


def test_users_create_client_needs_a_practice_first(migrated):
    result = create_user(migrated, "early", "a fine passphrase", "client", "--first-name", "E")
    assert result.returncode != 0
    assert "Create the practice first" in said(result)
    assert users_named(migrated, "early") == []


def test_users_create_client_needs_first_and_last_name(seeded_copy):
    before = row_counts(seeded_copy)
    for names in ((), ("--first-name", "Ana")):
        result = create_user(seeded_copy, "ana", "a fine passphrase", "client", *names)
        assert result.returncode != 0
        assert "--first-name and --last-name" in said(result)
        assert "Traceback" not in said(result)
    assert row_counts(seeded_copy) == before


def test_users_create_client_joins_the_practice_and_can_sign_in(seeded_copy):
    result = ok(
        create_user(
            seeded_copy,
            "ana",
            "a fine passphrase",
            "client",
            "--first-name",
            "Ana",
            "--last-name",
            "Lopez",
        )
    )
    assert "Created client 'ana'" in result.stdout
    [row] = query(
        seeded_copy,
        "SELECT c.first_name, c.last_name, c.practice, u.role, u.password_hash"
        " FROM client c JOIN portal_user u ON u.id = c.user WHERE u.username = 'ana'",
    )
    assert (row["first_name"], row["last_name"], row["role"]) == ("Ana", "Lopez", "client")
    assert row["practice"] == scalar(seeded_copy, "SELECT id FROM practice")
    assert verify_password(row["password_hash"], "a fine passphrase")
    assert scalar(seeded_copy, "SELECT count(*) FROM client") == 23


def test_users_create_provider_gets_a_provider_profile(seeded_copy):
    ok(
        create_user(
            seeded_copy,
            "drlee",
            "a fine passphrase",
            "provider",
            "--first-name",
            "Min",
            "--last-name",
            "Lee",
        )
    )
    [row] = query(
        seeded_copy,
        "SELECT p.display_name, p.practice FROM provider p"
        " JOIN portal_user u ON u.id = p.user WHERE u.username = 'drlee'",
    )
    assert row["display_name"] == "Min Lee"
    assert row["practice"] == scalar(seeded_copy, "SELECT id FROM practice")


# --- portal run: server.public_url against where it listens ---------------------------

ANY = "0.0.0.0"  # noqa: S104 - every interface, as an operator passes --host


@pytest.mark.parametrize(
    ("public_url", "host", "port", "proxies", "warns"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8000, [], ""),  # `make run`
        ("http://localhost:8000/", "127.0.0.1", 8000, [], ""),
        ("http://127.0.0.1:8000", ANY, 8000, [], "their own computer"),
        ("http://127.0.0.1:8000", "192.168.1.20", 8000, [], "their own computer"),
        ("http://127.0.0.1:8000", "127.0.0.1", 9000, [], "port 8000, where the portal is not"),
        ("http://192.168.1.20:8000", ANY, 8000, [], ""),
        ("http://192.168.1.20:8000", "192.168.1.21", 8000, [], "listens on 192.168.1.21:8000"),
        ("http://portal.lan", ANY, 8000, [], "port 80"),
        ("http://portal.lan:8000", ANY, 8000, [], ""),
        ("https://portal.example.org", "127.0.0.1", 8000, [], ""),  # behind a local proxy
        ("https://portal.example.org", "10.0.0.5", 8000, ["10.0.0.1"], ""),  # behind a proxy
        ("http://127.0.0.1:8000", None, None, [], "listens on a socket"),  # --uds / --fd
        ("https://portal.example.org", None, None, [], ""),
    ],
)
def test_public_url_warning_says_when_links_would_point_elsewhere(
    public_url, host, port, proxies, warns
):
    from portal.cli import public_url_warning

    warning = public_url_warning(public_url, host, port, trusted_proxies=proxies)
    if warns:
        assert warns in warning and "PORTAL_SERVER_PUBLIC_URL" in warning, warning
        assert f"server.public_url is {public_url}" in warning
    else:
        assert warning == ""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_until_listening(root: Path, port: int, **env: str) -> str:
    """`portal run` on `port` until it accepts a connection; its stderr (the console)."""
    import socket
    import time

    proc = subprocess.Popen(
        [str(PORTAL), "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env={**env_for(root), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"portal run did not start: {proc.communicate(timeout=10)}")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    return err


def test_run_warns_on_the_console_when_public_url_does_not_match(tmp_path):
    ok(portal(tmp_path, "db", "migrate"))
    port = _free_port()
    err = _run_until_listening(tmp_path, port)  # public_url left at http://127.0.0.1:8000
    assert (
        f"WARNING: server.public_url is http://127.0.0.1:8000, but the server listens on"
        f" 127.0.0.1:{port}" in err
    ), err
    assert "PORTAL_SERVER_PUBLIC_URL" in err
    port = _free_port()
    err = _run_until_listening(tmp_path, port, PORTAL_SERVER_PUBLIC_URL=f"http://127.0.0.1:{port}")
    assert "WARNING" not in err and "public_url" not in err, err


def test_demo_gives_the_staff_side_something_to_show(demos):
    root = demos.known.root
    labels = [r["label"] for r in query(root, "SELECT label FROM custom_field ORDER BY position")]
    assert labels == ["Referred by", "Preferred language", "Consent to leave voicemail"]
    # Someone to invite (no account yet) and someone waiting for approval.
    assert query(root, 'SELECT id FROM client WHERE "user" IS NULL AND NOT self_registered')
    [waiting] = query(root, "SELECT * FROM client WHERE self_registered AND approved_at IS NULL")
    assert waiting["registration_message"]
    # Every client who sees a provider is assigned to them; desk threads are marked.
    unassigned = query(
        root,
        "SELECT a.client FROM appointment a LEFT JOIN client_provider cp"
        " ON cp.client = a.client AND cp.provider = a.provider WHERE cp.id IS NULL",
    )
    assert not unassigned
    desks = {r["desk"] for r in query(root, "SELECT desk FROM thread")}
    assert "billing" in desks  # the question about a statement went to the billing desk
