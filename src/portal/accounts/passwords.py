"""Passwords: argon2id hashing (t=2, m=19 MiB, p=1) and the rules a new password must meet.

A hash or a verification takes tens of milliseconds of CPU. On the event loop that
stalled every other request (20 wrong sign-ins at once held `/healthz` for 0.64 s),
so request code uses the async functions, which run argon2 on a small pool of
threads of its own (`HASH_THREADS`): argon2 releases the GIL, the loop keeps
serving, and a flood of sign-ins waits in that pool's queue instead of taking
every core and 19 MiB each. The sync functions are for code with no event loop
(the CLI's helpers, benchmarks, tests).
"""

import asyncio
import gzip
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the username is unknown, so that case costs one hash too.
_DUMMY_HASH = _hasher.hash("not a real password, only here to spend the same time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification."""
    # An empty stored hash is as good as none: it never verifies (but still costs a hash).
    real = bool(password_hash)
    try:
        return _hasher.verify(password_hash if real else _DUMMY_HASH, password) and real
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# At most this many hashes at once per process, whatever the number of requests.
HASH_THREADS = max(2, min(4, os.cpu_count() or 2))
THREAD_PREFIX = "argon2"
# Threads start on first use (after any fork), one loop or many: no loop owns them.
_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix=THREAD_PREFIX)


async def hash_password_async(password: str) -> str:
    """`hash_password` in the hashing threads: the event loop waits without working."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` in the hashing threads (one argon2 verification, always)."""
    return await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, password_hash, password
    )


MIN_LENGTH, MAX_LENGTH = 8, 128
COMMON_PASSWORDS = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt.gz"


@cache
def _common() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why a new password is refused, or None. Any characters are allowed."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common() or password in _common():
        return "That password is one of the most common ones; choose another."
    if username and password.strip().lower() == username.strip().lower():
        return "Your password cannot be your username."
    return None
