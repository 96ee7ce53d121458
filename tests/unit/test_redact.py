"""Personal data out of a text before it goes to the language model (umic.core.redact)."""

from __future__ import annotations

import time

import pytest

from umic.core.redact import redact


def removed(text: str, *known: str) -> str:
    return redact(text, known).text


# --- What goes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "maria.puig@gmail.com",
        "Raul_Sanchez+consum@correu.example.cat",
        "J.GARCIA@EMPRESA.ES",
    ],
)
def test_email_addresses(written):
    result = redact(f"Escriviu-me a {written}, si us plau.")
    assert result.text == "Escriviu-me a [CORREU], si us plau."
    assert result.kinds == {"email": 1}


@pytest.mark.parametrize(
    "written",
    [
        "600123456",
        "600 123 456",
        "600 12 34 56",
        "600-12-34-56",
        "600.123.456",
        "93 123 45 67",
        "934.567.890",
        "+34 612 345 678",
        "+34612345678",
        "0034 600 12 34 56",
        "(+34) 700 123 456",
        "+33 6 12 34 56 78",
    ],
)
def test_phone_numbers(written):
    assert removed(f"Truqueu-me al {written} a la tarda.") == "Truqueu-me al [TELÈFON] a la tarda."
    assert removed(f"Mi teléfono: {written}.") == "Mi teléfono: [TELÈFON]."


@pytest.mark.parametrize(
    "written",
    [
        "12345678Z",
        "12345678z",
        "12.345.678-Z",
        "12345678-Z",
        "12345678 Z",
        "12345678A",  # a wrong control letter is still somebody's DNI
        "X1234567L",
        "Y-1234567-X",
        "B12345674",  # a CIF whose control checks
    ],
)
def test_identity_documents(written):
    result = redact(f"El meu DNI és {written} i ja està.")
    assert result.text == "El meu DNI és [DOCUMENT] i ja està."
    assert result.kinds == {"document": 1}


@pytest.mark.parametrize(
    "written",
    [
        "ES91 2100 0418 4502 0005 1332",
        "ES9121000418450200051332",
        "es91 2100 0418 4502 0005 1332",
        "DE89 3704 0044 0532 0130 00",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "2100 0418 45 0200051332",
    ],
)
def test_bank_accounts_and_cards(written):
    assert removed(f"Cobren al compte {written} cada mes.") == "Cobren al compte [COMPTE] cada mes."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Visc al carrer de Sant Joan, 23, 2n 1a.", "Visc al [ADREÇA]."),
        ("Visc al carrer Major 5 de Gelida.", "Visc al [ADREÇA] de Gelida."),
        ("Adreça: C/ Mallorca, 401, 3º 2ª", "Adreça: [ADREÇA]"),
        ("Adreça: c/Mallorca 401 3r 2a", "Adreça: [ADREÇA]"),
        ("Vivo en la calle Mayor nº 5, 3º B, de Sabadell.", "Vivo en la [ADREÇA], de Sabadell."),
        ("Domicilio: Avda. Meridiana 350 bajos", "Domicilio: [ADREÇA]"),
        ("Domicili: av. Diagonal, 640, 4t", "Domicili: [ADREÇA]"),
        ("a la plaça de Catalunya núm. 1", "a la [ADREÇA]"),
        ("en la plaza del Sol 7", "en la [ADREÇA]"),
        ("Passeig de Gràcia 12-14, pral.", "[ADREÇA]"),
        ("paseo de la Castellana 100", "[ADREÇA]"),
        ("Ronda del General Mitre 23", "[ADREÇA]"),
        ("camí de Can Ribes s/n", "[ADREÇA]"),
        ("Travessera de Dalt 45 àtic", "[ADREÇA]"),
        ("Codi postal 08001 Barcelona", "Codi postal [ADREÇA] Barcelona"),
    ],
)
def test_street_addresses(text, expected):
    assert removed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hola, em dic Maria Puig i Ferrer i visc a Gelida.",
            "Hola, em dic [NOM] i visc a Gelida.",
        ),
        ("Em dic joan puig i tinc un problema.", "Em dic [NOM] i tinc un problema."),
        ("Sóc la Núria Vilalta, clienta de Movistar.", "Sóc la [NOM], clienta de Movistar."),
        ("El meu nom és Pere Martí.", "El meu nom és [NOM]."),
        ("Me llamo Juan Pérez y tengo un problema.", "Me llamo [NOM] y tengo un problema."),
        ("me llamo juan pérez y tengo un problema", "me llamo [NOM] y tengo un problema"),
        ("Soy María José García de la Fuente, de Terrassa.", "Soy [NOM], de Terrassa."),
        ("Mi nombre es Ana López.", "Mi nombre es [NOM]."),
        (
            "Espero resposta.\nAtentamente,\nJosé Luis Martínez",
            "Espero resposta.\nAtentamente,\n[NOM]",
        ),
        ("Moltes gràcies, Jordi Soler.", "Moltes gràcies, [NOM]."),
    ],
)
def test_names_introduced(text, expected):
    assert removed(text) == expected


def test_the_cases_own_person_wherever_written():
    known = (
        "Raúl Sánchez Gómez",
        "raul.sanchez@example.net",
        "600 123 456",
        "Avinguda Diagonal, 640, 4t 2a, 08017 Barcelona",
    )
    text = (
        "RAUL SANCHEZ GOMEZ va trucar. En Raul diu que el senyor sánchez viu a "
        "l'Avinguda Diagonal 640 i que li escriviu a Raul.Sanchez@Example.NET o al 600123456; "
        "la seva filla ho confirma al 600-12-34-56."
    )
    result = redact(text, known)
    assert "raul" not in result.text.lower()
    assert "sanchez" not in result.text.lower()
    assert "diagonal" not in result.text.lower()
    assert "600" not in result.text
    assert result.text.startswith(
        "[NOM] va trucar. En [NOM] diu que el senyor [NOM] viu a l'[ADREÇA]"
    )
    assert result.kinds["name"] == 3
    assert result.kinds["email"] == 1
    assert result.kinds["phone"] == 2
    assert result.count == sum(result.kinds.values())


def test_known_name_parts_that_are_everyday_words_only_with_a_capital():
    result = redact(
        "La factura de la luz subió. Luz Rosa llamó al servicio; la camisa rosa era barata.",
        ["Luz Rosa Pons"],
    )
    assert result.text == (
        "La factura de la luz subió. [NOM] llamó al servicio; la camisa rosa era barata."
    )


def test_an_email_holding_the_name_is_one_replacement():
    result = redact("Correu: raul.sanchez@example.net", ["Raúl Sánchez"])
    assert result.text == "Correu: [CORREU]"
    assert result.count == 1


def test_a_whole_catalan_message():
    text = (
        "Bon dia, em dic Montserrat Casals i Pujol, DNI 47.123.456-K, i visc al c/ Major 12, "
        "1r 2a, 08770 Sant Sadurní. Vaig contractar la fibra amb Movistar el 15/01/2024 i "
        "em cobren 59,90 € en lloc de 35 €. Factura 458213. Truqueu-me al 622 33 44 55 o "
        "escriviu a montse.casals@hotmail.com. Cobren al compte ES12 0081 0200 1234 5678 9012."
    )
    result = redact(text)
    for gone in (
        "Montserrat",
        "Casals",
        "47.123.456",
        "Major 12",
        "08770",
        "622",
        "hotmail",
        "ES12",
    ):
        assert gone not in result.text, gone
    for kept in ("Movistar", "15/01/2024", "59,90 €", "35 €", "Factura 458213", "Sant Sadurní"):
        assert kept in result.text, kept
    assert result.kinds == {
        "name": 1,
        "document": 1,
        "address": 2,
        "phone": 1,
        "email": 1,
        "account": 1,
    }


def test_a_whole_spanish_message():
    text = (
        "Buenas tardes. Me llamo Francisco Javier Ruiz y soy cliente de Vodafone desde 2018. "
        "Mi NIE es Z7654321X. Vivo en Calle de Balmes 150, 2º 1ª. El 03.05.2024 me cargaron "
        "1.245,30 euros por un permanencia. Contrato 4500123456. Tel. 691.22.33.44.\n"
        "Un saludo,\nFrancisco Javier Ruiz"
    )
    result = redact(text)
    for gone in ("Francisco", "Ruiz", "Z7654321X", "Balmes", "691"):
        assert gone not in result.text, gone
    for kept in ("Vodafone", "2018", "03.05.2024", "1.245,30 euros", "Contrato 4500123456"):
        assert kept in result.text, kept


# --- What stays ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Em van cobrar 1.234,56 € el 12/03/2024 i 120 euros el 3-4-2024.",
        "La factura 123456 i la 654321 del 2024-06-30.",
        "Me cobraron 45,90€ y luego 1.200 € más el 31.12.2023.",
        "Endesa Energía, S.A.U. i Aigües de Barcelona no responen.",
        "Reclamo a El Corte Inglés y a MediaMarkt por un televisor de 899 €.",
        "Sóc client de Movistar des de fa 3 anys.",
        "Soy cliente de Iberdrola y jubilado.",
        "Al carrer hi havia 3 persones i vaig esperar 45 minuts.",
        "M'han fet esperar fora al carrer amb 35 graus.",
        "Vaig trucar 5 vegades entre el 2 i el 9 de maig.",
        "Número de pedido 40291 de PcComponentes, 2 unidades.",
        "Contracte 12345678 a nom meu, pagat amb 3 rebuts.",
        "Gràcies. Espero la vostra resposta.",
        "",
    ],
)
def test_what_is_not_personal_stays(text):
    result = redact(text)
    assert result.text == text
    assert result.count == 0
    assert result.kinds == {}


def test_placeholders_are_not_matched_again():
    once = redact("Em dic Nom Correu, telèfon 600123456.", ["Nom Correu"])
    assert once.text == "Em dic [NOM], telèfon [TELÈFON]."
    assert redact(once.text, ["Nom Correu"]).text == once.text


def test_empty_known_values_are_ignored():
    assert redact("Hola", ["", "  ", None]).text == "Hola"  # type: ignore[list-item]


@pytest.mark.parametrize(
    "text",
    [
        "A" * 30_000,  # a run with no "@" is not scanned again from each character
        "a." * 20_000 + "@",
        "6 " * 20_000,
        "Gràcies, " + "Joan " * 10_000,
        "Joan Puig 600123456 a@b.cat " * 3_000,  # thousands of replacements
    ],
)
def test_long_or_hostile_texts_take_no_time(text):
    started = time.perf_counter()
    redact(text, ["Joan Puig"])
    assert time.perf_counter() - started < 1.0
