"""The large-practice load bench: `make bench` (after the three small benches), or

    .venv/bin/python bench/run.py
    BENCH_ENGINES=sqlite BENCH_SECONDS=5 .venv/bin/python bench/run.py   # quicker, one engine

For each engine (SQLite, then a throwaway PostgreSQL): migrate with `portal db
migrate`, generate the large practice (bench/large_practice.py), count each
request's queries in-process, then serve it with `portal run` (uvicorn, one
worker) and load every row with wrk from its own process on 127.0.0.1; the
bare-Litestar baseline (bench/baseline.py) is served and loaded the same way on
the same database. Writes bench/results/<date>-<time>.md. See the benchmarks
section of docs/development.md for what each row means.

Knobs: BENCH_ENGINES (sqlite,postgresql), BENCH_SECONDS (10: each loaded run),
BENCH_WARMUP (2), BENCH_ALONE (3: the one-connection run), BENCH_CONNECTIONS (32),
BENCH_WORKERS (unset: `portal run`'s default of one).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import harness  # noqa: E402
import inprocess  # noqa: E402
import large_practice  # noqa: E402
import report  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
ALONE = float(os.environ.get("BENCH_ALONE", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
ENGINES = [e.strip() for e in os.environ.get("BENCH_ENGINES", "sqlite,postgresql").split(",") if e.strip()]  # fmt: skip
PDF_CONNECTIONS = int(os.environ.get("BENCH_PDF_CONNECTIONS", "4"))
FORMS = harness.ROOT / "src" / "portal" / "data" / "demo-forms.toml"


STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"== {time.monotonic() - STARTED:5.0f} s  {text}", flush=True)


def portal_env(tmp: Path, url: str, port: int, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ROOT": str(tmp),
        "PORTAL_CONFIG": str(tmp / "none.toml"),
        "PORTAL_DATABASE_URL": url,
        "PORTAL_SECURITY_SECRET_KEY": secret,
        "PORTAL_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORTAL_SERVER_PORT": str(port),
    }


def portal(env: dict[str, str], *args: str) -> None:
    out = harness.subprocess.run([str(harness.BIN / "portal"), *args], env=env, cwd=harness.ROOT, capture_output=True, text=True)  # fmt: skip
    if out.returncode != 0:
        raise harness.BenchError(f"portal {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


async def generate(url: str, env: dict[str, str]) -> dict:
    """Migrate with the app, then write the large practice in bulk; the manifest."""
    from portal.accounts.passwords import hash_password

    now = datetime.now(UTC)
    portal(env, "db", "migrate")
    sqlite_path = url.removeprefix("sqlite:///") if url.startswith("sqlite") else None
    pg = None
    if sqlite_path:
        conn = sqlite3.connect(sqlite_path)
        large_practice.write_sqlite(conn, large_practice.practice_rows(now))
    else:
        import asyncpg

        pg = await asyncpg.connect(url)
        await large_practice.write_postgres(pg, large_practice.practice_rows(now))
    portal(env, "forms", "load", str(FORMS))  # the templates; no clients to assign yet
    sql = "SELECT id FROM form_template ORDER BY id"
    ids = [r[0] for r in conn.execute(sql)] if sqlite_path else [r[0] for r in await pg.fetch(sql)]
    rows, manifest = large_practice.build(now, hash_password(large_practice.PASSWORD), ids)
    if sqlite_path:
        large_practice.write_sqlite(conn, rows)
        conn.close()
    else:
        await large_practice.write_postgres(pg, rows)
        await pg.execute("ANALYZE")  # what autovacuum does within a minute of a bulk load
        manifest["server_version"] = await pg.fetchval("SHOW server_version")
        await pg.close()
    return manifest


def drain(url: str, headers: dict[str, str] | None = None) -> None:
    """Let the server finish what wrk left queued: one more request, answered after the queue."""
    try:
        harness.httpx.get(url, headers=headers or {}, timeout=180)
    except harness.httpx.TransportError:
        pass


def measure(server_url: str, label: str, path: str, headers: dict[str, str], *, connections: int = CONNECTIONS, alone: float = ALONE) -> dict:  # fmt: skip
    url = server_url + path
    size = inprocess.wire_bytes(url, headers)
    if WARMUP > 0:
        harness.wrk(url, connections=connections, seconds=WARMUP, headers=headers)
        drain(url, headers)
    say(f"  {label}")
    loaded = harness.wrk(url, connections=connections, seconds=SECONDS, headers=headers)
    drain(url, headers)
    single = harness.wrk(url, connections=1, seconds=alone, headers=headers)
    drain(url, headers)
    return {"label": label, "path": path, "loaded": loaded, "alone": single, "bytes": size, "connections": connections}  # fmt: skip


def run_engine(engine: str, url: str, tmp: Path) -> dict:
    secret = secrets.token_urlsafe(32)
    port = harness.free_port()
    env = portal_env(tmp, url, port, secret)
    say(f"{engine}: migrate and generate the large practice")
    t = time.monotonic()
    manifest = asyncio.run(generate(url, env))
    gen_seconds = time.monotonic() - t
    say(f"{engine}: generated in {gen_seconds:.0f} s: {manifest['counts']}")

    say(f"{engine}: queries per request, in-process (httpx.ASGITransport)")
    inproc = asyncio.run(inprocess.run({**env, "PORTAL_SERVER_RUN_WORKER": "false"}, manifest))
    rows: list[dict] = []
    phone = {"Accept-Encoding": "br"}

    say(f"{engine}: bare-Litestar baseline")
    bport = harness.free_port()
    baseline = harness.Server(
        "baseline",
        [str(harness.BIN / "uvicorn"), "bench.baseline:create_app", "--factory", "--host", "127.0.0.1", "--port", str(bport)],
        {**os.environ, "BENCH_BASELINE_DB": url}, bport, tmp / "baseline.log", f"/client/{manifest['bench_id']}",
    )  # fmt: skip
    try:
        baseline.wait()
        path = f"/client/{manifest['bench_id']}"
        row = measure(baseline.url, "bare Litestar baseline", path, phone)
        row.update(queries=1)
        rows.append(row)
    finally:
        baseline.stop()

    say(f"{engine}: the portal (`portal run`, one worker unless BENCH_WORKERS)")
    args = [str(harness.BIN / "portal"), "run", "--host", "127.0.0.1", "--port", str(port)]
    if os.environ.get("BENCH_WORKERS"):
        args += ["--workers", os.environ["BENCH_WORKERS"]]
    server = harness.Server("portal", args, env, port, tmp / "portal.log", "/healthz")
    try:
        server.wait()
        sessions = inprocess.sign_in_over_http(server.url, manifest)
        sessions["token"] = {"cookie": ""}
        for item in inproc["rows"]:
            headers = {**phone, **item["headers"], "Cookie": sessions[item["who"]]["cookie"]}
            if item["who"] == "token":  # a server's request: the API token, no cookie
                headers = {**phone, "Authorization": f"Bearer {inproc['token']}"}
            inprocess.check(server.url + item["path"], headers, item["status"])
            pdf = item["path"].startswith("/account/statement/pdf")
            # A PDF takes a second or more: 32 connections would leave a minute of queue.
            row = measure(server.url, item["label"], item["path"], headers,
                          connections=min(CONNECTIONS, PDF_CONNECTIONS) if pdf else CONNECTIONS,
                          alone=max(ALONE, 6) if pdf else ALONE)  # fmt: skip
            row.update(queries=item["queries"], note=item.get("note", ""))
            rows.append(row)
        rows.append(book(server.url, sessions, inproc, tmp))
    finally:
        server.stop()
    return {"engine": engine, "rows": rows, "manifest": manifest, "generate_s": gen_seconds,
            "postgres": manifest.get("server_version", "")}  # fmt: skip


def book(server_url: str, sessions: dict, inproc: dict, tmp: Path) -> dict:
    """POST /schedule/book, each request a different free slot (bookers in turn)."""
    slots = inproc["free_slots"]
    split = int(len(slots) * 0.7)
    files = []
    for name, part in (("loaded", slots[:split]), ("alone", slots[split:])):
        f = tmp / f"book-{name}.tsv"
        with f.open("w") as out:
            for n, body in enumerate(part):
                who = sessions[f"booker{n % len(inproc['bookers'])}"]
                out.write(f"{who['cookie']}\t{body}&_csrf_token={who['csrf']}\n")
        files.append(f)
    say("  booking")
    headers = {"Accept-Encoding": "br"}
    loaded = harness.wrk(server_url + "/schedule/book", connections=CONNECTIONS, seconds=SECONDS, headers=headers, book_file=files[0])  # fmt: skip
    drain(server_url + "/healthz")
    alone = harness.wrk(server_url + "/schedule/book", connections=1, seconds=ALONE, headers=headers, book_file=files[1])  # fmt: skip
    note = (
        f"each POST a different free slot ({split:,} loaded / {len(slots) - split:,} alone on offer); "
        f"answered 303 (booked): {loaded['n303']:,}, other: {loaded['nother']:,} under load; "
        f"{alone['n303']:,} / {alone['nother']:,} alone"
    )
    return {"label": "book a free slot (POST /schedule/book)", "path": "/schedule/book",
            "loaded": loaded, "alone": alone, "bytes": 0, "connections": CONNECTIONS, "queries": inproc["book_queries"], "note": note}  # fmt: skip


def main() -> None:
    started = time.monotonic()
    harness.ensure_wrk()
    info = harness.machine()
    info["load average at start"] = harness.load_average()
    results = []
    for engine in ENGINES:
        tmp = Path(tempfile.mkdtemp(prefix=f"portal-bench-{engine}."))
        try:
            if engine == "sqlite":
                results.append(run_engine(engine, f"sqlite:///{tmp}/portal.db", tmp))
            elif engine == "postgresql":
                say("postgresql: a throwaway cluster")
                with harness.postgres_cluster() as url:
                    results.append(run_engine(engine, url, tmp))
            else:
                raise harness.BenchError(f"unknown engine {engine!r} in BENCH_ENGINES")
        except BaseException:
            say(f"{engine} failed; the servers' logs are kept in {tmp}")
            raise
        harness.shutil.rmtree(tmp, ignore_errors=True)
    info["load average at end"] = harness.load_average()
    settings = {"seconds": SECONDS, "warmup": WARMUP, "alone": ALONE, "connections": CONNECTIONS,
                "workers": os.environ.get("BENCH_WORKERS", "1"), "total_s": time.monotonic() - started}  # fmt: skip
    path = report.write(results, info, settings)
    print(Path(path).read_text())
    say(f"written to {path} in {settings['total_s']:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except harness.BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(1)
