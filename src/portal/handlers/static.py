"""Fingerprinted static files: long-lived immutable caching, precompressed bodies."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from portal.core.assets import Assets

IMMUTABLE = "public, max-age=31536000, immutable"
# A name that is not there now may be there after the next deploy: never cache the 404.
NOT_FOUND_HEADERS = {"cache-control": "no-store"}


@get("/static/{name:path}", opt={"exclude_from_auth": True}, include_in_schema=False)
async def static_file(
    request: Request, name: FromPath[str], assets: NamedDependency[Assets]
) -> Response:
    asset = assets.by_url_name.get(name.lstrip("/"))
    if asset is None:
        raise NotFoundException(headers=NOT_FOUND_HEADERS)
    headers = {"cache-control": IMMUTABLE, "etag": asset.etag, "vary": "accept-encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    # As is: given as media_type, Litestar would add a second "; charset=utf-8" to text/*.
    headers["content-type"] = asset.media_type
    body, encoding = asset.body_for(request.headers.get("accept-encoding", ""))
    if encoding:
        headers["content-encoding"] = encoding
    return Response(body, headers=headers)
