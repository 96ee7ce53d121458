"""Company names and tax ids (umic.core.companies): matching names whatever their case,
accents, punctuation and legal form; NIF/NIE/CIF normalised and their control checked."""

from __future__ import annotations

import pytest

from umic.core.companies import PROBLEM_CONTROL
from umic.core.companies import PROBLEM_FORMAT
from umic.core.companies import cif_control_digit
from umic.core.companies import group_duplicates
from umic.core.companies import name_key
from umic.core.companies import normalize_tax_id
from umic.core.companies import tax_id_problem


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Endesa Energía, S.A.U.", "ENDESA ENERGIA SAU"),
        ("Endesa Energía, S.A.U.", "Endesa Energia Sociedad Anónima Unipersonal"),
        ("Telefónica de España, S.A.U.", "TELEFONICA DE ESPAÑA SA"),
        ("Naturgy Iberia, S.A.", "naturgy iberia"),
        ("Vodafone España, S.L.U.", "Vodafone España SLU"),
        ("Abacus, SCCL", "Abacus Societat Cooperativa Catalana Limitada"),
        ("Consum, S.Coop.V.", "CONSUM S COOP V"),
        ("Viatges Pirineu, S.L.", "Viatges Pirineu Societat Limitada"),
        ("Ferreteria Puig i Fills, SCP", "Ferretería Puig i Fills"),
        ("Bar Sol, C.B.", "Bar Sol Comunidad de Bienes"),
        ("L'Illa Diagonal, SL", "l illa diagonal"),
    ],
)
def test_names_that_differ_in_case_accents_or_legal_form_match(one, other):
    assert name_key(one) == name_key(other)


def test_the_key_is_the_plain_name():
    assert name_key("Endesa Energía, S.A.U.") == "endesa energia"
    assert name_key("  Orange  Espagne S.A.U. ") == "orange espagne"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Sa Nostra", "Nostra"),  # "sa" is a Catalan article at the start, not a legal form
        ("Endesa Energía", "Endesa"),
        ("Movistar", "Vodafone"),
    ],
)
def test_different_names_do_not_match(one, other):
    assert name_key(one) != name_key(other)


def test_a_name_that_is_only_a_legal_form_keeps_a_key():
    assert name_key("S.A.") == "s a"
    assert name_key("") == ""
    assert name_key(None) == ""


def test_duplicates_are_grouped_in_the_order_given():
    groups = group_duplicates(
        [
            (1, "Naturgy"),
            (2, "Endesa Energía SAU"),
            (3, "NATURGY S.A."),
            (4, "Movistar"),
            (5, "endesa energia, s.a.u."),
            (6, "Naturgy Sociedad Anónima"),
        ]
    )
    assert groups == [[1, 3, 6], [2, 5]]


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        (" b-12.345.674 ", "B12345674"),
        ("ES B12345674", "B12345674"),
        ("es-b12345674", "B12345674"),
        ("12.345.678-z", "12345678Z"),
        ("x-1234567-l", "X1234567L"),
        ("", ""),
        (None, ""),
    ],
)
def test_tax_ids_are_written_as_the_tax_agency_does(written, normal):
    assert normalize_tax_id(written) == normal


def test_the_cif_control_digit_follows_the_rules():
    # 1234567: odd places 1,3,5,7 doubled -> 2,6,1(0),5(14) = 14; even 2+4+6 = 12; 26 -> 4
    assert cif_control_digit("1234567") == 4
    assert cif_control_digit("0000000") == 0


@pytest.mark.parametrize(
    "valid",
    [
        "12345678Z",  # NIF of a person
        "00000000T",
        "X1234567L",  # NIE
        "Y1234567X",
        "Z1234567R",
        "B12345674",  # a limited company: control digit
        "A81948077",
        "Q2826000H",  # a public body: control letter
        "P0800000B",
        "G12345674",  # an association: digit or letter
        "G1234567D",
        "K1234567L",  # special NIF
    ],
)
def test_valid_tax_ids(valid):
    assert tax_id_problem(valid) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("12345678A", PROBLEM_CONTROL),  # wrong letter
        ("X1234567A", PROBLEM_CONTROL),
        ("B12345675", PROBLEM_CONTROL),  # wrong digit
        ("B1234567D", PROBLEM_CONTROL),  # a company's control is a digit
        ("Q28260008", PROBLEM_CONTROL),  # a public body's is a letter
        ("Q2826000A", PROBLEM_CONTROL),
        ("B1234567", PROBLEM_FORMAT),  # too short
        ("B123456745", PROBLEM_FORMAT),
        ("I12345674", PROBLEM_FORMAT),  # no such kind of entity
        ("123456789", PROBLEM_FORMAT),
        ("B12A45674", PROBLEM_FORMAT),
        ("B１２３４５６７4", PROBLEM_FORMAT),  # full-width digits
        ("", PROBLEM_FORMAT),
    ],
)
def test_invalid_tax_ids_say_why(value, problem):
    assert tax_id_problem(value) == problem
