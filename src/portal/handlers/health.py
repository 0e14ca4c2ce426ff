"""Liveness and database check for load balancers."""

from __future__ import annotations

from litestar import get
from litestar.response import Response

from portal.tables import Practice


@get("/healthz", cache=False)
async def healthz() -> Response:
    try:
        await Practice.raw("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return Response(
            {"status": "unavailable", "database": type(exc).__name__},
            status_code=503,
            media_type="application/json",
        )
    return Response({"status": "ok", "database": "ok"}, media_type="application/json")
