"""Who a privacy request is about (``umic.core.identity``): the same person under every
spelling of their address or number, and nobody else; the audit log's hash, mask and
redaction."""

from __future__ import annotations

import re

import pytest

from umic.core import identity
from umic.core.identity import EMAIL
from umic.core.identity import PHONE
from umic.core.identity import Term


def _like(pattern: str, value: str) -> bool:
    """SQL LIKE with backslash escapes, in Python (what the database does with the pattern)."""
    regex = ""
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            regex += re.escape(next(chars))
        elif ch == "%":
            regex += ".*"
        elif ch == "_":
            regex += "."
        else:
            regex += re.escape(ch)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@pytest.mark.parametrize(
    "typed",
    [
        "raul@example.net",
        "Raul@Example.NET",
        "  raul@example.net ",
        "RAUL+cita@example.net",
        "raul+umic+2@EXAMPLE.net",
    ],
)
def test_an_address_is_found_whatever_its_case_spaces_or_tag(typed):
    term = identity.parse_term("Raul@example.net ")
    assert term == Term(EMAIL, "raul@example.net")
    assert identity.matches(term, typed)
    # The database's pattern lets every spelling through (lowered and trimmed, as queried).
    assert _like(identity.email_pattern(term.key), typed.strip().lower())


@pytest.mark.parametrize(
    "other", ["raula@example.net", "raul@example.com", "araul@example.net", "raul.s@example.net"]
)
def test_another_address_is_not_the_same_person(other):
    assert not identity.matches(identity.parse_term("raul@example.net"), other)


def test_gmail_dots_are_the_same_mailbox_as_for_the_booking_caps():
    term = identity.parse_term("Raul.Sanchez@gmail.com")
    for typed in ("raulsanchez@gmail.com", "r.a.u.l.sanchez+x@googlemail.com"):
        assert identity.matches(term, typed)
        assert _like(identity.email_pattern(term.key), typed.lower())


def test_wildcards_in_an_address_are_not_wildcards_in_the_query():
    pattern = identity.email_pattern("r_ul%x@example.net")
    assert _like(pattern, "r_ul%x@example.net")
    assert not _like(pattern, "rauluxx@example.net")


@pytest.mark.parametrize(
    "typed",
    [
        "612345678",
        "612 34 56 78",
        "612.345.678",
        "612-345-678",
        "+34 612 345 678",
        "0034612345678",
        "(+34) 612 34 56 78",
        "34612345678",
    ],
)
def test_a_phone_is_found_by_its_digits_with_or_without_the_country_code(typed):
    term = identity.parse_term("+34 612 34 56 78")
    assert term == Term(PHONE, "612345678")
    assert identity.matches(term, typed)
    assert _like(identity.phone_pattern(term.key), typed)


@pytest.mark.parametrize("other", ["612345679", "+33 612345678", "9612345678", ""])
def test_another_number_is_not_the_same_person(other):
    assert not identity.matches(identity.parse_term("612345678"), other)


@pytest.mark.parametrize("typed", ["", "   ", "Raúl Sánchez", "raul@", "12 34", "612345678abc"])
def test_neither_an_address_nor_a_number_is_refused(typed):
    assert identity.parse_term(typed) is None


def test_the_audit_log_keeps_a_keyed_hash_and_a_mask_that_names_nobody():
    term = identity.parse_term("Raul+x@Example.net")
    digest = identity.term_digest(term, "secret")
    assert digest == identity.term_digest(identity.parse_term("raul@example.net"), "secret")
    assert digest != identity.term_digest(term, "another secret")
    assert "raul" not in digest and len(digest) == 64
    assert identity.mask(term) == "r…@e…"
    assert identity.mask(identity.parse_term("612 345 678")) == "…78"


def test_the_reason_for_an_erasure_loses_the_persons_identifiers():
    reason = (
        "La Sra. Sánchez (Raúl Sánchez, RAUL@example.net, 612 34 56 78) ho va demanar "
        "per registre 2026/123 el dia 3."
    )
    redacted = identity.redact(reason, ["Raúl Sánchez", "Raúl", "Sánchez", "raul@example.net"])
    for gone in ("Sánchez", "Raúl", "raul", "612"):
        assert gone.lower() not in redacted.lower()
    assert "registre 2026/123" in redacted and "el dia 3" in redacted
    # Whole words only: a short name inside an ordinary word stays.
    assert identity.redact("anar a la oficina", ["Ana"]) == "anar a la oficina"
