"""Which registry company a free text names (umic.core.company_match): typos, legal forms,
short names written exactly, aliases, and no company found in texts that name none."""

from __future__ import annotations

import time

import pytest

from umic.core.company_match import CompanyMatcher
from umic.core.company_match import KnownName
from umic.demo.companies import COMPANIES

# The demo's registry of companies (umic/demo/companies.py): name, sector, e-mail, language.
REGISTRY = [name for name, *_rest in COMPANIES]
IDS = {name: number for number, name in enumerate(REGISTRY, start=1)}


@pytest.fixture(scope="module")
def matcher():
    names = [KnownName(IDS[name], name) for name in REGISTRY]
    names.append(KnownName(IDS["CaixaBank"], "la Caixa"))  # an alias learnt from cases
    return CompanyMatcher(names)


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("Em van cobrar dos cops a Vodafne aquest mes", "Vodafone"),
        ("Reclamación contra ENDESA ENERGIA SAU por la factura", "Endesa Energía, S.A.U."),
        ("endesa energia sociedad anonima unipersonal", "Endesa Energía, S.A.U."),
        ("L'Endesa em cobra el doble", "Endesa Energía, S.A.U."),
        ("movisttar no me da de baja", "Movistar"),
        ("Vaig comprar a mediamarkt una rentadora", "MediaMarkt"),
        ("Vaig comprar a Media Markt una rentadora", "MediaMarkt"),
        ("el corte ingels no em torna els diners", "El Corte Inglés"),
        ("Mas Movil em cobra la permanència", "MásMóvil"),
        ("masmobil me cobra de más", "MásMóvil"),
        ("El vol de Ryan air va sortir tard", "Ryanair"),
        ("La reserva de bookin.com era falsa", "Booking.com"),
        ("aigües barcelona m'ha tallat l'aigua", "Aigües de Barcelona"),
        ("Iberdola me ha subido la luz", "Iberdrola"),
        ("pc componentes no me envía el pedido", "PcComponentes"),
        ("El Banco Santader me cobra comisiones", "Banco Santander"),
        ("la Caixa no em torna la comissió", "CaixaBank"),
        ("Correos no me entrega el paquete", "Correos"),
        ("Respol em cobra el butà al doble", "Repsol"),  # two letters swapped: one typo
        ("la factura d'Oragne", "Orange"),
        ("Total Enegies m'ha pujat el gas", "TotalEnergies"),
        ("Tinc la hipoteca amb el Banco Sabadell", "Banc Sabadell"),
        ("Em van vendre un mòbil a Más Móbil", "MásMóvil"),
    ],
)
def test_the_company_is_found_despite_typos_and_legal_forms(matcher, text, company):
    guess = matcher.match(text)
    assert guess is not None, text
    assert guess.company_id == IDS[company]
    assert 0.0 < guess.confidence <= 1.0


def test_confidence_is_one_for_an_exact_name_and_less_for_a_typo(matcher):
    assert matcher.match("Tinc un problema amb Vodafone").confidence == 1.0
    typo = matcher.match("Tinc un problema amb Vodafne")
    assert typo.matched == "Vodafone"
    assert 0.8 < typo.confidence < 1.0


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("Tinc el compte a ING i em cobren", "ING"),
        ("Digi em talla la línia", "Digi"),
        ("me pasé a lowi y no funciona", "Lowi"),
        ("El repartidor de SEUR no va venir", "SEUR"),
        ("compré un armario en ikea", "IKEA"),
        ("el BBVA em cobra comissions", "BBVA"),
        ("Lowii", "Lowi"),  # a letter doubled: the one typo forgiven in a short name
        ("vaig comprar a Ikkea", "IKEA"),
    ],
)
def test_short_names_are_found_when_written_exactly(matcher, text, company):
    assert matcher.match(text).company_id == IDS[company]


@pytest.mark.parametrize(
    "text",
    [
        "Vaig a la seu de l'empresa i no em van atendre",  # seu ~ SEUR
        "No em van donar el tiquet de compra",
        "Tinc un dubte sobre la garantia de la rentadora",
        "He enviado varios correos y nadie me contesta",  # correos (e-mails), not Correos
        "Vaig enviar un correu a la companyia",
        "Visc a la casa dels meus pares des de fa anys",  # casa ~ caixa
        "Me cobran el ingreso dos veces",
        "El producto llegó roto y la tienda no responde",
        "Compré jamón ibérico y venía en mal estado",  # ibérico ~ Iberia
        "La factura de la llum ha pujat molt aquest mes",
        "Quiero darme de baja de la fibra y del móvil",
        "M'han cobrat més diners del que tocava a la botiga del barri",
        "Dig me what you want",
        "Em van atendre per la línia telefònica i la telefonia no funciona",
        "Som una família de quatre i no ens arriba el correu",
        "Vaig comprar-ho a la botiga de la cantonada",
        "",
        "   ",
    ],
)
def test_texts_without_a_company_find_none(matcher, text):
    assert matcher.match(text) is None


def test_a_text_that_is_only_the_name_needs_no_capital(matcher):
    # A company field: "correos" alone is the company; in a sentence it is e-mails.
    assert matcher.match("correos").company_id == IDS["Correos"]
    assert matcher.match("he enviat correos") is None


def test_the_closest_name_wins(matcher):
    # "Banc Sabadell" and "Banco Santander" are both banks: each is found by its own words.
    assert matcher.match("Banc Sabadell em cobra").company_id == IDS["Banc Sabadell"]
    assert matcher.match("banco santander me cobra").company_id == IDS["Banco Santander"]


def test_aliases_work_like_names():
    matcher = CompanyMatcher([KnownName(7, "Telefónica de España, S.A.U."), KnownName(7, "Movi")])
    assert matcher.match("Telefonica d'Espanya em cobra").company_id == 7
    assert matcher.match("la movi em cobra").company_id == 7
    guess = matcher.match("la Movi em cobra")
    assert guess.matched == "Movi"
    assert CompanyMatcher([]).match("Vodafone") is None


def test_two_thousand_names_take_a_few_milliseconds():
    names = [
        KnownName(i, f"{word}{suffix} Serveis SL")
        for i, (word, suffix) in enumerate(
            (w, s)
            for w in (
                "Garcia",
                "Puig",
                "Roca",
                "Vidal",
                "Ferrer",
                "Soler",
                "Mas",
                "Pujol",
                "Serra",
                "Font",
                "Riera",
                "Costa",
                "Camps",
                "Vila",
                "Bosch",
                "Prat",
                "Sala",
                "Coll",
                "Ribas",
                "Pons",
            )
            for s in range(100)
        )
    ]
    matcher = CompanyMatcher(names)
    text = (
        "Vaig contractar la reforma de la cuina amb Garcia42 Serveis i després de tres mesos "
        "encara no han acabat la feina, no contesten el telèfon ni els correus i ja els vaig "
        "pagar la meitat del pressupost per avançat. Vull que em tornin els diners."
    )
    assert matcher.match(text).company_id == 42
    started = time.perf_counter()
    for _ in range(20):
        matcher.match(text)
    assert (time.perf_counter() - started) / 20 < 0.02
