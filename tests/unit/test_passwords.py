"""Password hashing as an operator and an attacker would see it: argon2id, OWASP parameters."""

from __future__ import annotations

from portal.accounts.passwords import hash_password, needs_rehash, verify_password

# The phrase behind the module's dummy hash (public: it is in the source code).
DUMMY_PHRASE = "not a real password, only here to spend the same time"


def test_hash_is_argon2id_with_owasp_parameters_in_the_hash_string():
    h = hash_password("correct horse battery staple")
    assert h.startswith("$argon2id$v=19$")
    params = h.split("$")[3]
    assert dict(p.split("=") for p in params.split(",")) == {"m": "19456", "t": "2", "p": "1"}


def test_same_password_hashes_differently_each_time_and_never_contains_it():
    a = hash_password("correct horse battery staple")
    b = hash_password("correct horse battery staple")
    assert a != b  # a fresh salt every time
    assert "correct horse" not in a


def test_right_password_verifies_wrong_one_does_not():
    h = hash_password("correct horse battery staple")
    assert verify_password(h, "correct horse battery staple") is True
    assert verify_password(h, "correct horse battery stapl") is False
    assert verify_password(h, "Correct horse battery staple") is False
    assert verify_password(h, "") is False


def test_unicode_passwords_round_trip():
    h = hash_password("Grüße, 世界 🔐")
    assert verify_password(h, "Grüße, 世界 🔐") is True
    assert verify_password(h, "Grusse, 世界 🔐") is False


def test_unknown_user_path_is_false_whatever_the_password():
    # No stored hash: the caller still pays one verification, and never succeeds.
    assert verify_password(None, "anything at all") is False
    assert verify_password(None, DUMMY_PHRASE) is False


def test_garbage_or_foreign_hash_is_a_plain_no_not_a_crash():
    assert verify_password("not a hash", "whatever") is False
    assert verify_password("$2b$12$" + "a" * 53, "whatever") is False  # bcrypt-shaped
    assert verify_password("$argon2id$v=19$m=19456,t=2,p=1$broken", "whatever") is False


def test_an_empty_stored_hash_never_verifies():
    assert verify_password("", DUMMY_PHRASE) is False


def test_current_hashes_need_no_rehash_weaker_ones_do():
    assert needs_rehash(hash_password("correct horse battery staple")) is False
    from argon2 import PasswordHasher

    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw")
    assert needs_rehash(weaker) is True
    # The weaker hash still verifies, so the upgrade can happen at the next sign-in.
    assert verify_password(weaker, "pw") is True
