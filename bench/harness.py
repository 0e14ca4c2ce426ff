"""The moving parts of `bench/run.py`: wrk, server processes, a throwaway PostgreSQL, the machine.

Everything listens on 127.0.0.1 only, and every process started here is stopped
by its own handle (never by name).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK_SCRIPT = Path(__file__).with_name("wrk") / "bench.lua"
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))


class BenchError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    """wrk's path; installs Debian's `wrk` when missing and we are root with apt-get."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("== installing Debian's wrk (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL, check=False
        )
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, stdout=subprocess.DEVNULL, check=False)  # fmt: skip
        found = shutil.which("wrk")
    if not found:
        raise BenchError(
            "wrk is missing and could not be installed: install Debian's `wrk` package "
            "(apt-get install wrk) or put wrk on PATH, then run `make bench` again."
        )
    return found


def wrk(url: str, *, connections: int, seconds: float, headers: dict[str, str], book_file: Path | None = None) -> dict:  # fmt: skip
    """One wrk run against `url`; the figures bench.lua prints, with req/s added."""
    threads = min(2, connections)
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    args = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "--latency", "-s", str(WRK_SCRIPT)]  # fmt: skip
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    env = {**os.environ, "BENCH_THREADS": str(threads)}
    if book_file:
        env["BENCH_BOOK_FILE"] = str(book_file)
    out = subprocess.run(
        args + [url], capture_output=True, text=True, env=env, timeout=seconds + 60
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed on {url}: {out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("BENCH "))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
    return r


class Server:
    """A uvicorn process (`portal run`, or the baseline), its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, log: Path, health: str) -> None:  # fmt: skip
        self.name, self.port, self.log_path, self.health = name, port, log, health
        self.log = log.open("wb")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + self.health, timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(
            f"{self.name} did not start; its log:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as the postgres system user then (as scripts/test.sh).
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_cluster():  # noqa: ANN201
    """A throwaway cluster on a free port, started the way scripts/test.sh starts one; its URL.

    Unlike the test suite's, fsync stays on; `synchronous_commit=off` matches SQLite's
    WAL with synchronous=NORMAL (the last commits may be lost at a power cut, nothing corrupts).
    """
    if not (PG_BIN / "initdb").exists():
        raise BenchError(f"PostgreSQL server binaries not found in {PG_BIN} (set BENCH_PG_BIN, or BENCH_ENGINES=sqlite)")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-pg."))
    tmp.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    port = free_port()
    data = tmp / "data"
    try:
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections=200 -c synchronous_commit=off"
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(tmp / "server.log"), "-w", "-o", opts, "start"]),
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    except subprocess.CalledProcessError as exc:
        logs = "".join(p.read_text() for p in tmp.glob("*.log"))
        shutil.rmtree(tmp, ignore_errors=True)
        raise BenchError(f"PostgreSQL did not start: {exc}\n{logs}") from exc
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


def _first_line(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> dict[str, str]:
    import sqlite3

    cpu = "unknown"
    mem = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))  # fmt: skip
        kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")))  # fmt: skip
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout  # fmt: skip
    return {
        "cores": f"{os.cpu_count()} × {cpu}",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": _first_line(["wrk", "-v"]).split(" [")[0],
        "commit": commit + (" (with uncommitted changes)" if dirty.strip() else ""),
    }


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
