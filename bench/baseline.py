"""The bare-Litestar baseline for `bench/run.py`: one indexed query, one small Jinja template.

    BENCH_BASELINE_DB=sqlite:////path/to/portal.db  uvicorn bench.baseline:create_app --factory
    BENCH_BASELINE_DB=postgresql://...               uvicorn bench.baseline:create_app --factory

GET /client/{id} reads one client row by its primary key (SQLite: one `sqlite3`
connection opened at start-up and kept; PostgreSQL: an asyncpg pool) and renders
`bench/templates/baseline.html`. Same compression settings as the portal. This is
what the framework, the server and the database driver cost on this machine: the
ceiling each portal figure is compared with.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, get
from litestar.config.compression import CompressionConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import NotFoundException
from litestar.response import Template
from litestar.template.config import TemplateConfig

QUERY = "SELECT id, first_name, last_name, status FROM client WHERE id = {}"


def create_app() -> Litestar:
    url = os.environ["BENCH_BASELINE_DB"]
    state: dict = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if url.startswith("sqlite:///"):
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
            conn.row_factory = sqlite3.Row
            state["sqlite"] = conn
        else:
            import asyncpg

            state["pg"] = await asyncpg.create_pool(url, min_size=1, max_size=10)
        try:
            yield
        finally:
            if "sqlite" in state:
                state["sqlite"].close()
            else:
                await state["pg"].close()

    async def one(client_id: int) -> dict | None:
        if "sqlite" in state:
            row = state["sqlite"].execute(QUERY.format("?"), (client_id,)).fetchone()
        else:
            row = await state["pg"].fetchrow(QUERY.format("$1"), client_id)
        return dict(row) if row else None

    @get("/client/{client_id:int}")
    async def client(client_id: int) -> Template:
        row = await one(client_id)
        if row is None:
            raise NotFoundException()
        return Template("baseline.html", context={"title": "Baseline", "client": row})

    return Litestar(
        route_handlers=[client],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
        ),
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, minimum_size=512
        ),
        openapi_config=None,
    )
