"""Who a privacy request is about: one e-mail address or one phone number, normalised. Pure.

A coordinator types what the person gave them ("Raul@Example.NET ", "+34 612 34 56 78"); the
rows hold what the person typed when they booked, months ago, in whatever form. These rules
decide which rows are the same person's (docs/privacy.md, "The rights of the people whose data
we hold"):

- an e-mail address matches whatever its case and outer spaces, and whatever ``+tag`` its
  local part carries (``raul+umic@example.net`` is ``raul@example.net``: the mailbox is the
  same, so the data is the same person's); for Gmail, whatever its dots. This is the key the
  booking caps count by (``umic.core.emails``): one rule for "the same address";
- a phone number matches by its digits only: spaces, dots, dashes and brackets go, and so
  does a leading Spanish country code (``+34``, ``0034``, or ``34`` before nine digits).

The database is asked with a pattern that every matching value fits (``email_pattern``,
``phone_pattern``): one indexed or scanning query per table, whatever the number of rows.
The exact rule (``email_key``, ``phone_key``) then keeps only the true matches in Python.

The audit log never holds the term in clear: ``term_digest`` (a keyed hash, so that nobody
can run a list of addresses through it without the app's secret) and ``mask`` (a hint that
names nobody: the first letter and the domain's first letter, or a phone's last two digits).
``redact`` takes the person's identifiers out of the free text a coordinator writes as the
reason for an erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from . import emails

EMAIL = "email"
PHONE = "phone"

_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_PHONE_TERM = re.compile(r"\+?\d{6,15}")
_EMAIL_TERM = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Characters that mean something in a SQL LIKE pattern (escaped with a backslash).
_LIKE_SPECIAL = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class Term:
    """What a request is about: its kind (``EMAIL`` or ``PHONE``) and its normalised key."""

    kind: str
    key: str


def email_key(value: str | None) -> str:
    """The address as one mailbox: the booking caps' key (``umic.core.emails``), so that a
    person is found under every spelling the caps count as theirs.

    ``" Raul+UMIC@Example.NET "`` -> ``"raul@example.net"`` (Gmail: dots go as well).
    """
    return emails.email_key("".join((value or "").split()))


def phone_key(value: str | None) -> str:
    """The digits of a phone number without a Spanish country code.

    ``"+34 612.34-56-78"``, ``"0034612345678"`` and ``"612 345 678"`` -> ``"612345678"``.
    Other countries' numbers keep their code (``"+33 1 23 45 67 89"`` -> ``"33123456789"``),
    so a French and a Spanish number never meet.
    """
    digits = "".join(ch for ch in (value or "") if ch.isdigit())
    if digits.startswith("0034") and len(digits) == 13:
        return digits[4:]
    if digits.startswith("34") and len(digits) == 11:
        return digits[2:]
    return digits


def parse_term(value: str | None) -> Term | None:
    """An e-mail address or a phone number as a coordinator typed it; None if it is neither."""
    typed = (value or "").strip()
    if not typed:
        return None
    if "@" in typed:
        key = email_key(typed)
        return Term(EMAIL, key) if _EMAIL_TERM.fullmatch(key) else None
    compact = _PHONE_SEPARATORS.sub("", typed)
    if _PHONE_TERM.fullmatch(compact):
        return Term(PHONE, phone_key(compact))
    return None


def matches(term: Term, value: str | None) -> bool:
    """Whether a stored value (as the person typed it) is the term's address or number."""
    if not value:
        return False
    if term.kind == EMAIL:
        return email_key(value) == term.key
    return phone_key(value) == term.key


def like_escape(value: str) -> str:
    """``value`` with LIKE's wildcards escaped (use with ``escape="\\\\"``)."""
    return _LIKE_SPECIAL.sub(r"\\\1", value)


def email_pattern(key: str) -> str:
    """A LIKE pattern (backslash escapes) that every lowered, trimmed stored address with
    ``key`` fits: ``raul%@example.net`` (so ``raul+tag@``), or for Gmail, whose dots do not
    count, ``r%a%u%l%@%mail.com``.

    Wider than the rule (``raulito@example.net`` fits too): ``matches`` then keeps the true
    ones.
    """
    local, _at, domain = key.rpartition("@")
    if domain == "gmail.com":
        return "%".join(like_escape(ch) for ch in local) + "%@%mail.com"
    return f"{like_escape(local)}%@{like_escape(domain)}"


def phone_pattern(key: str) -> str:
    """A LIKE pattern every way of writing the number fits: its digits in order, anything
    between and around (``612345678`` -> ``%6%1%2%3%4%5%6%7%8%``).

    Wider than the rule (it also fits longer numbers containing these digits): ``matches``
    then keeps the true ones.
    """
    return "%" + "%".join(key) + "%"


def term_digest(term: Term, secret: str | bytes) -> str:
    """A keyed hash (HMAC-SHA-256, hex) of the normalised term, for the audit log.

    The same person gives the same digest, so the log can say "searched before" without
    holding the address; without the secret, nobody can test guesses against it.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = f"{term.kind}:{term.key}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask(term: Term) -> str:
    """A hint for the audit list that names nobody: ``r…@e…`` or ``…78``."""
    if term.kind == EMAIL:
        local, _at, domain = term.key.rpartition("@")
        return f"{local[:1]}…@{domain[:1]}…"
    return f"…{term.key[-2:]}"


def redact(text: str, identifiers: list[str], replacement: str = "[…]") -> str:
    """``text`` without any of ``identifiers`` (case-insensitive), nor any e-mail address
    or phone-like run of digits: what a coordinator writes as an erasure's reason must not
    bring the person back into the audit log.

    Whole words only; identifiers shorter than three characters are left alone (they would
    eat ordinary words). Give a name whole and word by word to catch "la Sra. Sánchez".
    """
    result = text
    for identifier in sorted({i.strip() for i in identifiers if i}, key=len, reverse=True):
        if len(identifier) < 3:
            continue
        pattern = rf"(?<!\w){re.escape(identifier)}(?!\w)"
        result = re.sub(pattern, replacement, result, flags=re.IGNORECASE)
    result = re.sub(r"[^\s@]+@[^\s@]+", replacement, result)
    result = re.sub(r"\+?\d[\d\s.\-()]{5,}\d", replacement, result)
    return result
