"""Counting the queries a piece of code runs (used by the tests and bench/)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from piccolo.engine.base import Engine


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    """Record every query `engine` runs inside the block (they still run as usual)."""
    cls = type(engine)
    original = cls.run_querystring
    seen: list[str] = []

    async def counted(self, querystring, *args, **kwargs):  # noqa: ANN001, ANN202
        if self is engine:
            seen.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = counted
    try:
        yield seen
    finally:
        cls.run_querystring = original
