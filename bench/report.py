"""The markdown table `bench/run.py` writes to bench/results/<date>-<time>.md."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("results")
FIRST_ROUND_TRIP, WIDGET_BUDGET = 14 * 1024, 2 * 1024


def ms(us: float) -> str:
    v = us / 1000
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def rate(rps: float) -> str:
    return f"{rps:,.0f}" if rps >= 10 else f"{rps:.1f}"


def _table(result: dict) -> list[str]:
    rows = result["rows"]
    base = rows[0]["loaded"]["rps"] or 1.0
    out = [
        "| request | req/s | × baseline | p50 | p99 | alone p50 | br bytes | queries | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lo, al = r["loaded"], r["alone"]
        errors = lo["status_errors"] + lo["socket_errors"] + lo["timeouts"]
        note = r.get("note", "")
        if r["connections"] != result["settings"]["connections"]:
            note = f"{r['connections']} connections, not {result['settings']['connections']}" + (
                "; " + note if note else ""
            )
        if errors and not r["path"].startswith("/schedule/book"):
            note = (note + "; " if note else "") + f"{errors} errors/timeouts under load"
        out.append(
            f"| {r['label']} | {rate(lo['rps'])} | {lo['rps'] / base:.3f} | {ms(lo['p50_us'])} | {ms(lo['p99_us'])} "
            f"| {ms(al['p50_us'])} | {r['bytes']:,} | {r['queries']} | {note} |"
        )  # fmt: skip
    return out


def _row(result: dict, label_start: str) -> dict | None:
    return next((r for r in result["rows"] if r["label"].startswith(label_start)), None)


def _targets(results: list[dict]) -> list[str]:
    out = ["| target | engine | measured | met |", "|---|---|---|---|"]
    by = {r["engine"]: r for r in results}

    def line(target: str, engine: str, measured: str, ok: bool) -> None:
        out.append(f"| {target} | {engine} | {measured} | {'yes' if ok else '**no**'} |")

    for engine, res in by.items():
        base = res["rows"][0]["loaded"]["rps"] or 1.0
        dash = _row(res, "dashboard `/`")
        widgets = [r for r in res["rows"] if r["label"].startswith("widget")]
        line("dashboard ≥ 0.5 × baseline req/s", engine, f"{dash['loaded']['rps'] / base:.3f} ×", dash["loaded"]["rps"] >= 0.5 * base)  # fmt: skip
        worst = min(widgets, key=lambda r: r["loaded"]["rps"])
        line("each widget ≥ 0.7 × baseline req/s", engine, f"lowest {worst['label']}: {worst['loaded']['rps'] / base:.3f} ×", worst["loaded"]["rps"] >= 0.7 * base)  # fmt: skip
        slowest = max([dash, *widgets], key=lambda r: r["loaded"]["p99_us"])
        line(f"p99 < 50 ms at {results[0]['settings']['connections']} connections, dashboard and widgets", engine,
             f"highest {slowest['label']}: {ms(slowest['loaded']['p99_us'])}", slowest["loaded"]["p99_us"] < 50_000)  # fmt: skip
        search = _row(res, "slot search, next free")
        line("90-day slot search < 20 ms end to end (alone p50)", engine, ms(search["alone"]["p50_us"]), search["alone"]["p50_us"] < 20_000)  # fmt: skip
        pdf = _row(res, "12-month statement")
        line("12-month statement PDF < 1 s (alone p50)", engine, ms(pdf["alone"]["p50_us"]), pdf["alone"]["p50_us"] < 1_000_000)  # fmt: skip
        line("dashboard ≤ 14 KB compressed", engine, f"{dash['bytes']:,} B", dash["bytes"] <= FIRST_ROUND_TRIP)  # fmt: skip
        big = max(widgets, key=lambda r: r["bytes"])
        line("each widget ≤ 2 KB compressed", engine, f"largest {big['label']}: {big['bytes']:,} B", big["bytes"] <= WIDGET_BUDGET)  # fmt: skip
    if "sqlite" in by and "postgresql" in by:
        s, p = (_row(by[e], "dashboard `/`")["loaded"]["rps"] for e in ("sqlite", "postgresql"))
        line("PostgreSQL no worse than SQLite (dashboard req/s)", "both", f"{p:,.0f} vs {s:,.0f} req/s", p >= s * 0.95)  # fmt: skip
    return out


def write(results: list[dict], info: dict[str, str], settings: dict) -> Path:
    for r in results:
        r["settings"] = settings
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}.md"
    for r in results:
        if r["postgres"]:
            info["postgresql"] = r["postgres"]
    m = results[0]["manifest"]
    c = m["counts"]
    lines = [
        f"# `make bench`, {datetime.now():%Y-%m-%d %H:%M}",
        "",
        "How to rerun and what each row means: the benchmarks section of "
        "[docs/development.md](../../docs/development.md#benchmarks).",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        f"- load: wrk `-t2 -c{settings['connections']} -d{settings['seconds']:g}s --latency` from its own process on 127.0.0.1, "
        f"after a {settings['warmup']:g} s warm-up; *alone* is `-t1 -c1 -d{settings['alone']:g}s`; "
        f"`portal run` workers: {settings['workers']}; every request sends `Accept-Encoding: br`",
        f"- whole run: {settings['total_s'] / 60:.1f} min",
        "",
        "## Data",
        "",
        f"{c['client']:,} clients, {c['provider']} providers, {c['appointment']:,} appointments, "
        f"{c['ledger_entry']:,} ledger lines, {c['thread']:,} threads with {c['message']:,} messages, "
        f"{c['form_assignment']:,} form assignments (generator version {m['generator_version']}). "
        f"The signed-in client (`{m['bench']}`) has {m['bench_client']['appointments']} appointments "
        f"({m['bench_client']['upcoming']} upcoming) and {m['bench_client']['ledger_lines']} ledger lines; "
        f"the statement client {m['statement_lines_in_period']} lines in the 12 months; "
        f"the heavy client {m['heavy_upcoming']} upcoming appointments with one provider.",
        "",
    ]  # fmt: skip
    for r in results:
        name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(r["engine"], r["engine"])
        lines += [
            f"## {name}",
            "",
            f"Generated and loaded in {r['generate_s']:.0f} s.",
            "",
            *_table(r),
            "",
        ]
    lines += ["## Targets (issue 11)", "", *_targets(results), ""]
    path.write_text("\n".join(lines))
    return path
