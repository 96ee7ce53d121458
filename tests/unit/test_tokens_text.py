"""Unit tests of umic.core.tokens (random identifiers) and umic.core.text (folding, slugs)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from umic.core.text import clean
from umic.core.text import fold
from umic.core.text import slugify
from umic.core.tokens import hash_token
from umic.core.tokens import new_reference
from umic.core.tokens import new_room_name
from umic.core.tokens import new_token
from umic.core.tokens import video_link

DRAWS = 2000
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")
REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


# --- tokens -----------------------------------------------------------------------------------


def test_token_is_url_safe_and_carries_at_least_128_random_bits():
    token = new_token()

    assert URLSAFE.match(token)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 128
    assert len(token) * 6 >= 128  # 64-symbol alphabet: 6 bits a character


def test_tokens_never_repeat():
    tokens = {new_token() for _ in range(DRAWS)}

    assert len(tokens) == DRAWS


def test_tokens_use_the_whole_url_safe_alphabet():
    # A generator that only produced hex digits would still look random; make sure it isn't.
    seen = set("".join(new_token() for _ in range(200)))

    assert len(seen) > 40


def test_hash_token_is_sha256_hex_of_the_utf8_token():
    # FIPS 180-2 test vector for "abc".
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_hash_token_is_deterministic_and_differs_between_tokens():
    token = new_token()

    assert hash_token(token) == hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))
    assert hash_token(token) != hash_token(new_token())
    assert hash_token(token) != token


def test_hash_token_encodes_non_ascii_as_utf8():
    assert hash_token("cita·à") == hashlib.sha256("cita·à".encode()).hexdigest()


def test_room_name_is_lowercase_alphanumeric_and_long():
    for _ in range(200):
        room = new_room_name()
        assert re.fullmatch(r"[a-z0-9]{26,}", room), room


def test_room_names_never_repeat():
    assert len({new_room_name() for _ in range(DRAWS)}) == DRAWS


def test_reference_is_two_groups_of_four_crockford_characters():
    references = [new_reference() for _ in range(500)]

    assert all(REFERENCE.match(reference) for reference in references)
    # Look-alikes are never used: I, L, O, U.
    assert not set("".join(references)) & set("ILOU")


def test_video_link_with_room_placeholder_gives_each_booking_its_own_room():
    template = "https://meet.jit.si/umic-{room}"

    first_link, first_room = video_link(template)
    second_link, second_room = video_link(template)

    assert first_room and second_room and first_room != second_room
    assert first_link == f"https://meet.jit.si/umic-{first_room}"
    assert second_link == f"https://meet.jit.si/umic-{second_room}"
    assert "{room}" not in first_link
    assert re.fullmatch(r"[a-z0-9]{26,}", first_room)


def test_video_link_without_placeholder_is_the_fixed_link_and_no_room():
    template = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"

    assert video_link(template) == (template, None)
    assert video_link(template) == (template, None)


# --- fold and slugify -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "folded", "slug"),
    [
        ("L'Ametlla del Vallès", "l ametlla del valles", "l-ametlla-del-valles"),
        ("L\u2019Ametlla del Vallès", "l ametlla del valles", "l-ametlla-del-valles"),
        ("Sant Llorenç d'Hortons", "sant llorenc d hortons", "sant-llorenc-d-hortons"),
        ("Òdena", "odena", "odena"),
        ("Palau-solità i Plegamans", "palau solita i plegamans", "palau-solita-i-plegamans"),
        ("Castellví de Rosanes", "castellvi de rosanes", "castellvi-de-rosanes"),
        ("  Santa Maria de  Palautordera ", "santa maria de palautordera",
         "santa-maria-de-palautordera"),
    ],
)  # fmt: skip
def test_fold_and_slugify_real_town_names(name, folded, slug):
    assert fold(name) == folded
    assert slugify(name) == slug


def test_fold_joins_the_catalan_geminated_l():
    assert fold("Avinguda del Paral·lel") == "avinguda del parallel"
    assert fold("Cel\u00b7la") == "cella"


def test_fold_makes_accented_and_plain_searches_meet():
    assert fold("VALLES") == fold("vallès") == fold("Vallés")


def test_slug_has_only_lowercase_ascii_letters_digits_and_single_hyphens():
    slug = slugify("  Sant Vicenç de Castellet -- 2ª fase! ")

    assert slug == "sant-vicenc-de-castellet-2a-fase"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)


# --- clean ------------------------------------------------------------------------------------


def test_clean_of_none_is_empty():
    assert clean(None) == ""
    assert clean(None, multiline=True) == ""


def test_clean_removes_nul_and_other_control_characters():
    assert clean("Nú\x00ria\x07 Puig\x1b\x7f") == "Núria Puig"
    assert clean("a\x0bb\x0cc", multiline=True) == "abc"


def test_clean_collapses_spaces_tabs_and_newlines_on_one_line():
    assert clean("  Núria \t  Puig\r\ni Solà  ") == "Núria Puig i Solà"


def test_clean_keeps_newlines_in_multiline_text_and_normalises_them():
    value = "  Vaig comprar una rentadora.\r\nNo funciona.\rVull la devolució.\n\x00 "

    assert clean(value, multiline=True) == (
        "Vaig comprar una rentadora.\nNo funciona.\nVull la devolució."
    )


def test_clean_keeps_inner_spacing_and_tabs_in_multiline_text():
    assert clean("preu:\t 120 €\n\nfactura  A-12", multiline=True) == (
        "preu:\t 120 €\n\nfactura  A-12"
    )


@pytest.mark.parametrize("multiline", [False, True], ids=["one-line", "multiline"])
def test_clean_removes_c1_control_characters(multiline):
    assert clean("Núria\x9b Puig\x90", multiline=multiline) == "Núria Puig"
