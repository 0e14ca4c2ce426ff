"""Hashing and verifying off the event loop: the async functions give the sync ones'
answers, run in the hashing threads, and never more of them at once than the pool has."""

from __future__ import annotations

import asyncio
import threading

from portal.accounts import passwords
from portal.accounts.passwords import (
    hash_password_async,
    needs_rehash,
    verify_password,
    verify_password_async,
)


def _hashing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(passwords.THREAD_PREFIX)]


async def _while_ticking(work):
    """Run `work` while another task counts how often the event loop lets it run."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        stop.set()
        await task
    return result, ticks


async def test_async_hash_and_verify_give_the_same_answers_as_the_sync_ones():
    h = await hash_password_async("correct horse battery staple")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and not needs_rehash(h)
    assert verify_password(h, "correct horse battery staple")
    assert await verify_password_async(h, "correct horse battery staple") is True
    assert await verify_password_async(h, "correct horse battery stapl") is False
    assert await verify_password_async(None, "anything") is False
    assert await verify_password_async("", "anything") is False
    assert await verify_password_async("not a hash", "anything") is False


async def test_verification_runs_in_a_thread_while_the_loop_keeps_serving():
    h = passwords.hash_password("correct horse battery staple")
    ok, ticks = await _while_ticking(verify_password_async(h, "correct horse battery staple"))
    assert ok is True
    # The loop ran other work while argon2 worked: it was not on the loop's thread.
    assert ticks > 0
    _, ticks = await _while_ticking(hash_password_async("another passphrase"))
    assert ticks > 0
    assert _hashing_threads()


async def test_many_verifications_at_once_use_at_most_the_pools_threads():
    h = passwords.hash_password("correct horse battery staple")
    results = await asyncio.gather(
        *(verify_password_async(h, f"guess {n}") for n in range(3 * passwords.HASH_THREADS))
    )
    assert results == [False] * (3 * passwords.HASH_THREADS)
    assert 1 <= len(_hashing_threads()) <= passwords.HASH_THREADS
    assert 2 <= passwords.HASH_THREADS <= 4
