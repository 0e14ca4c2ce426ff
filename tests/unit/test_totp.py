"""TOTP against an independent RFC 6238 implementation, at the edges of the 30-second steps."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest

from portal.accounts import twofactor
from tests.totp import hotp, totp


def test_reference_implementation_matches_rfc_6238_vectors():
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890", 8 digits.
    key = b"12345678901234567890"
    for t, expected in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924")]:
        assert hotp(key, t // 30, digits=8) == expected


@pytest.mark.parametrize("offset", [0, 1, 29])
def test_current_and_previous_step_accepted_older_and_future_refused(offset):
    secret = pyotp.random_base32()
    step_start = 1_800_000_000 - (1_800_000_000 % 30)
    now = datetime.fromtimestamp(step_start + offset, UTC)
    step = step_start // 30
    assert twofactor.matching_step(secret, totp(secret, step_start + offset), now) == step
    assert twofactor.matching_step(secret, totp(secret, step_start - 1), now) == step - 1
    assert twofactor.matching_step(secret, totp(secret, step_start - 31), now) is None
    assert twofactor.matching_step(secret, totp(secret, step_start + 30), now) is None


def test_code_input_is_forgiving_about_spaces_but_not_length():
    secret = pyotp.random_base32()
    now = datetime.fromtimestamp(1_800_000_000, UTC)
    code = totp(secret, 1_800_000_000)
    assert twofactor.matching_step(secret, f" {code[:3]} {code[3:]} ", now) is not None
    assert twofactor.matching_step(secret, code[:5], now) is None
    assert twofactor.matching_step(secret, "abcdef", now) is None


def test_provisioning_uri_and_qr_are_made_server_side():
    setup = twofactor.setup_for("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice", "Harbor Counseling")
    assert setup.uri.startswith(
        "otpauth://totp/Harbor%20Counseling:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    )
    assert setup.qr_svg.startswith("<svg") and "<script" not in setup.qr_svg


def test_recovery_codes_are_ten_distinct_and_long_enough():
    codes = twofactor.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(twofactor.normalise_code(c)) == 12 for c in codes)
