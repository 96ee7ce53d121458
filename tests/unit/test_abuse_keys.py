"""Unit tests of the keys the booking caps count by (umic.core.emails, umic.core.abuse) and of
the removal of invisible characters from one-line fields (umic.core.text.clean)."""

from __future__ import annotations

import re

import pytest

from umic.core.abuse import client_network
from umic.core.abuse import network_key
from umic.core.emails import email_key
from umic.core.emails import same_mailbox
from umic.core.text import clean

# --- email_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("raul@example.net", "raul@example.net"),
        ("  Raul@Example.NET ", "raul@example.net"),
        ("raul+1@example.net", "raul@example.net"),
        ("Raul+cita+2@example.net", "raul@example.net"),
        ("raul.sanchez@example.net", "raul.sanchez@example.net"),  # dots matter elsewhere
        ("R.a.u.l+x@Gmail.com", "raul@gmail.com"),
        ("raul.sanchez@googlemail.com", "raulsanchez@gmail.com"),
        ("raul@gmail.com.", "raul@gmail.com"),
        ("+tag@example.net", "+tag@example.net"),  # nothing before the tag: kept
        ("not-an-address", "not-an-address"),
        ("", ""),
    ],
)
def test_email_key_folds_case_spaces_tags_and_gmail_dots(typed, key):
    assert email_key(typed) == key


def test_email_key_of_none_is_empty():
    assert email_key(None) == ""


def test_same_mailbox():
    assert same_mailbox("Cites+x@EXAMPLE.org", "cites@example.org")
    assert not same_mailbox("cites@example.org", "altres@example.org")
    assert not same_mailbox("", "")


# --- client networks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("198.51.100.7", "198.51.100.0/24"),
        ("198.51.100.254", "198.51.100.0/24"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("2001:db8:0:1::1", "2001:db8::/56"),
        ("2001:db8:0:ff:1:2:3:4", "2001:db8::/56"),
        ("2001:db8:0:100::1", "2001:db8:0:100::/56"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_client_network(address, network):
    assert client_network(address) == network


def test_network_key_is_a_keyed_hash_of_the_network():
    key = network_key("198.51.100.7", "secret")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key == network_key("198.51.100.200", "secret")  # same /24
    assert key != network_key("198.51.101.7", "secret")  # the next /24
    assert key != network_key("198.51.100.7", "another secret")  # another installation
    assert key == network_key("198.51.100.7", b"secret")


# --- clean: invisible characters (security review, note 16) ----------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Joan \u202eanipaC", "Joan anipaC"),  # RIGHT-TO-LEFT OVERRIDE
        ("Joan\u202d Puig\u202c", "Joan Puig"),  # LRO and PDF
        ("\u2067Joan\u2069", "Joan"),  # isolates
        ("Jo\u200ban", "Joan"),  # ZERO WIDTH SPACE
        ("\ufeffJoan", "Joan"),  # BOM
        ("Jo\u200dan Pu\u200cig", "Joan Puig"),  # joiners between Latin letters
        ("Joan\u200d", "Joan"),
        ("Joan\U000e0041\U000e0042", "Joan"),  # tag characters
        ("Joan\u00adna", "Joanna"),  # soft hyphen
        ("Joan\u200e Puig\u200f", "Joan Puig"),  # LRM and RLM
        ("Joan\u2028Puig", "Joan Puig"),  # LINE SEPARATOR: a space in one line
        ("Joan\x85Puig", "JoanPuig"),  # C1 control
    ],
)
def test_clean_removes_format_and_control_characters(typed, kept):
    assert clean(typed) == kept


@pytest.mark.parametrize(
    "name",
    [
        "Núria Pérez Güell",
        "Marçal Col·lell",
        "Ñandú Àlex Ïsona",
        "Łukasz Żółć",
        "Nguyễn Thị Minh Khai",
        "Ελένη Παπαδοπούλου",
        "Алёна Иванова",
        "محمد الأمين",
        "زین\u200cالعابدین",  # Persian: ZWNJ inside the name is spelling
        "ക്\u200dഷ",  # Malayalam: ZWJ between letters chooses the form
        "李小龍",
    ],
)
def test_clean_keeps_letters_with_diacritics_and_other_scripts(name):
    assert clean(name) == name


def test_clean_removes_format_characters_from_long_text_too_and_keeps_lines():
    assert clean("Primera\u202e línia\nSegona\u2029Tercera", multiline=True) == (
        "Primera línia\nSegona\nTercera"
    )
