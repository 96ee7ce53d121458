"""The cookie seal (umic.core.sealed): unreadable, purpose-bound, tolerant of junk."""

from __future__ import annotations

import base64

import pytest

from umic.core.sealed import seal
from umic.core.sealed import unseal

KEY = "k" * 40
TOKEN = "wJH2dlK-voXUihX_aD1ZsELnPLNsizh-"


def test_a_sealed_value_opens_with_the_key_and_purpose_it_was_sealed_with():
    sealed = seal(KEY, "booked", TOKEN)
    assert unseal(KEY, "booked", sealed) == TOKEN
    assert seal(KEY, "booked", TOKEN) != sealed  # a fresh IV each time


def test_the_token_cannot_be_read_from_the_seal():
    sealed = seal(KEY, "booked", TOKEN)
    assert TOKEN not in sealed
    assert TOKEN.encode() not in base64.urlsafe_b64decode(sealed + "==")


def test_another_key_or_purpose_opens_nothing():
    sealed = seal(KEY, "booked", TOKEN)
    assert unseal("x" * 40, "booked", sealed) is None
    assert unseal(KEY, "draft", sealed) is None


@pytest.mark.parametrize(
    "junk",
    [None, 42, "", "abc", "é", "A" * 401, TOKEN, base64.urlsafe_b64encode(b"\0" * 80).decode()],
)
def test_anything_else_is_none(junk):
    assert unseal(KEY, "booked", junk) is None


def test_a_changed_seal_is_refused():
    sealed = seal(KEY, "booked", TOKEN)
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    assert unseal(KEY, "booked", flipped) is None
