"""umic.core.doc_classify: realistic snippets in Catalan and Spanish. Pure, fast."""

from __future__ import annotations

import pytest

from umic.core.doc_classify import suggest

FACTURA_CA = """AIGÜES DEL VALLÈS
Factura núm. 2024-118733   Data de la factura: 03/05/2024
NIF: A12345674
Període de facturació: 01/03/2024 - 30/04/2024
Consum 12 m3
Base imposable 38,20 €   IVA 10% 3,82 €
Total a pagar 42,02 €"""

FACTURA_ES = """Factura nº F/2024/0091 Fecha de factura 12/02/2024
CIF B87654321
Concepto: reparación lavadora
Base imponible 100,00  IVA 21% 21,00
TOTAL 121,00 EUR"""

CONTRACTE_CA = """CONTRACTE DE SUBMINISTRAMENT
Reunits d'una part l'empresa i de l'altra la persona clienta,
les parts acorden les següents clàusules:
Primera. Durada: dotze mesos. Condicions generals a l'annex.
Signat a Granollers"""

CONTRATO_ES = """CONTRATO DE PRESTACIÓN DE SERVICIOS
Condiciones generales. Cláusula 3: permanencia de 12 meses.
Reunidos de una parte... Firmado por ambas partes."""

DNI_ES = """ESPAÑA DOCUMENTO NACIONAL DE IDENTIDAD
APELLIDOS GARCIA LOPEZ NOMBRE MARIA
SEXO F NACIONALIDAD ESP FECHA DE NACIMIENTO 01 02 1980
DNI 12345678Z VALIDO HASTA 01 01 2030"""

NIE = """Número d'identitat d'estranger X1234567L
Data de naixement 14 03 1990 Nacionalitat MAR"""

RECLAMACIO_CA = """FULL DE RECLAMACIÓ / DENÚNCIA
Número de reclamació 08-2024-00123
Dades de la persona reclamant ... Empresa reclamada ..."""

RECLAMACION_ES = """Servicio de Atención al Cliente
Hemos recibido su reclamación previa. Número de incidencia 55601.
La tramitaremos en un plazo de 30 días."""

CARTA_CA = """Assumpte: la vostra sol·licitud
Benvolguda senyora,
us escrivim en resposta al vostre correu del dia 3.
Atentament,
Servei de clients"""

CARTA_ES = """Asunto: su consulta
Estimado señor:
Le escribimos en respuesta a su correo. Atentamente,"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FACTURA_CA, "factura"),
        (FACTURA_ES, "factura"),
        (CONTRACTE_CA, "contracte"),
        (CONTRATO_ES, "contracte"),
        (DNI_ES, "dni"),
        (NIE, "dni"),
        (RECLAMACIO_CA, "reclamacio_previa"),
        (RECLAMACION_ES, "reclamacio_previa"),
        (CARTA_CA, "correspondencia"),
        (CARTA_ES, "correspondencia"),
    ],
)
def test_realistic_snippets(text, expected):
    suggestion = suggest(text)
    assert suggestion.category == expected, suggestion
    assert 0.4 <= suggestion.score <= 1
    assert suggestion.reasons


@pytest.mark.parametrize(
    "text",
    ["", "   ", "Llista de la compra: pa, llet, ous", "Total", "Correu", "12 de maig"],
)
def test_too_little_is_altres_with_a_low_score(text):
    suggestion = suggest(text)
    assert suggestion.category == "altres"
    assert suggestion.score < 0.3
    assert suggestion.reasons == ()


def test_file_name_counts_a_little():
    assert suggest("Total 42,00 IVA 21%", "factura_maig.pdf").category == "factura"
    assert suggest("Total 42,00", "").category == "altres"


def test_a_letter_about_an_invoice_is_still_a_letter_when_it_reads_as_one():
    text = (
        "Assumpte: reclamació de la factura de maig\nBenvolgut senyor,\n"
        "us escrivim en resposta al vostre correu.\nAtentament,"
    )
    assert suggest(text).category == "correspondencia"
