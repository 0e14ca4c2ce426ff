"""Fingerprinted static files: long-lived immutable caching, precompressed bodies."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from portal.core.assets import Assets

IMMUTABLE = "public, max-age=31536000, immutable"


@get("/static/{name:path}", opt={"exclude_from_auth": True}, include_in_schema=False)
async def static_file(
    request: Request, name: FromPath[str], assets: NamedDependency[Assets]
) -> Response:
    asset = assets.by_url_name.get(name.lstrip("/"))
    if asset is None:
        raise NotFoundException()
    headers = {"cache-control": IMMUTABLE, "etag": asset.etag, "vary": "accept-encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    body, encoding = asset.body_for(request.headers.get("accept-encoding", ""))
    if encoding:
        headers["content-encoding"] = encoding
    return Response(body, media_type=asset.media_type, headers=headers)
