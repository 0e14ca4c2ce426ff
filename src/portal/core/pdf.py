"""PDFs from HTML with xhtml2pdf, rendered off the event loop, one at a time per process.

xhtml2pdf holds a process-wide lock and is CPU-bound: renders run in a worker
thread so requests keep flowing. Documents may reference no outside resource;
the link callback refuses every URL (only inline content is used).
"""

from __future__ import annotations

import io
import threading

import anyio.to_thread
from xhtml2pdf import pisa

_lock = threading.Lock()


class PdfError(RuntimeError):
    pass


def _refuse(uri: str, rel: str) -> str:
    raise PdfError(f"PDFs may not load resources ({uri!r})")


def render_sync(html: str) -> bytes:
    out = io.BytesIO()
    with _lock:
        result = pisa.CreatePDF(html, dest=out, link_callback=_refuse, encoding="utf-8")
    if result.err:
        raise PdfError(f"xhtml2pdf reported {result.err} error(s)")
    return out.getvalue()


async def render(html: str) -> bytes:
    return await anyio.to_thread.run_sync(render_sync, html)
