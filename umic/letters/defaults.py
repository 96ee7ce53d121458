# ruff: noqa: E501  (letter paragraphs are one line each: a blank line separates them)
"""The letters the app ships: version 1 of every kind, in Catalan and Spanish.

Plain text: paragraphs separated by a blank line, placeholders ``{{ name }}`` (the list and
what each holds: umic.letters.templating.PLACEHOLDERS). The letterhead, the addressee, the
place and date, the reference and the signature are added by the layout
(umic.letters.render), so a text starts at the greeting and ends at the closing.

Legal references are only those we are sure of: Llei 22/2010, del 20 de juliol, del Codi de
consum de Catalunya; the Junta Arbitral de Consum de Catalunya (consumer arbitration); the
Agència Catalana del Consum (inspection and sanctions).
"""

from __future__ import annotations

from ..core.codes import LetterKind

LANGUAGES = ("ca", "es")

# (subject, body) per kind and language.
DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    # --- Acknowledgement of receipt (to the consumer) ---------------------------------------
    (LetterKind.ACUSAMENT.value, "ca"): (
        "Acusament de recepció de la vostra sol·licitud (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

Us comuniquem que el {{ case.date }} vam rebre la vostra sol·licitud adreçada al {{ organisation }}, que ha quedat registrada amb el número d'expedient {{ case.number }}.

Una persona tècnica del servei n'estudiarà el contingut i es posarà en contacte amb vós si cal cap aclariment o documentació addicional. Us recomanem que conserveu aquest número i que l'indiqueu en qualsevol comunicació relacionada amb aquest expedient.

La sol·licitud es tramita d'acord amb la Llei 22/2010, del 20 de juliol, del Codi de consum de Catalunya.

Atentament,""",
    ),
    (LetterKind.ACUSAMENT.value, "es"): (
        "Acuse de recibo de su solicitud (expediente {{ case.number }})",
        """Estimado/a señor/a:

Le comunicamos que el {{ case.date }} recibimos su solicitud dirigida al {{ organisation }}, que ha quedado registrada con el número de expediente {{ case.number }}.

Una persona técnica del servicio estudiará su contenido y se pondrá en contacto con usted si es necesaria alguna aclaración o documentación adicional. Le recomendamos que conserve este número y que lo indique en cualquier comunicación relacionada con este expediente.

La solicitud se tramita de acuerdo con la Ley 22/2010, de 20 de julio, del Código de consumo de Cataluña.

Atentamente,""",
    ),
    # --- Request for documents (to the consumer) ---------------------------------------------
    (LetterKind.REQUERIMENT.value, "ca"): (
        "Requeriment de documentació (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

En relació amb la vostra sol·licitud, registrada amb el número d'expedient {{ case.number }}, per poder continuar-ne la tramitació us demanem que ens feu arribar la documentació següent: còpia de la factura, del contracte o del pressupost relacionats amb la reclamació; la reclamació que hàgiu adreçat prèviament a l'empresa {{ company.name }}, i la seva resposta, si n'heu rebut; i qualsevol altre document que acrediti els fets.

Us demanem que ens l'envieu abans del {{ deadline }}, a través de l'enllaç personal que us hem fet arribar per correu electrònic.

Si no rebem la documentació dins d'aquest termini, és possible que no puguem continuar la tramitació de l'expedient.

Atentament,""",
    ),
    (LetterKind.REQUERIMENT.value, "es"): (
        "Requerimiento de documentación (expediente {{ case.number }})",
        """Estimado/a señor/a:

En relación con su solicitud, registrada con el número de expediente {{ case.number }}, para poder continuar su tramitación le pedimos que nos haga llegar la siguiente documentación: copia de la factura, del contrato o del presupuesto relacionados con la reclamación; la reclamación que haya dirigido previamente a la empresa {{ company.name }}, y su respuesta, si la ha recibido; y cualquier otro documento que acredite los hechos.

Le rogamos que nos la envíe antes del {{ deadline }}, a través del enlace personal que le hemos hecho llegar por correo electrónico.

Si no recibimos la documentación dentro de este plazo, es posible que no podamos continuar la tramitación del expediente.

Atentamente,""",
    ),
    # --- The claim sent to the company ------------------------------------------------------
    (LetterKind.RECLAMACIO_EMPRESA.value, "ca"): (
        "Reclamació de consum (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

El {{ organisation }} ha rebut una reclamació de {{ consumer.name }} adreçada a {{ company.name }}, que ha quedat registrada amb el número d'expedient {{ case.number }}. L'import reclamat és de {{ amount_claimed }}.

D'acord amb la Llei 22/2010, del 20 de juliol, del Codi de consum de Catalunya, us traslladem aquesta reclamació i us convidem a participar en un procediment de mediació, voluntari i gratuït, amb la finalitat d'arribar a una solució acordada entre les parts.

Us demanem que ens feu arribar la vostra resposta, amb les al·legacions i, si escau, la proposta de solució que considereu oportunes, abans del {{ deadline }}, a través de l'enllaç que us hem enviat per correu electrònic.

Quedem a la vostra disposició per a qualsevol aclariment.

Atentament,""",
    ),
    (LetterKind.RECLAMACIO_EMPRESA.value, "es"): (
        "Reclamación de consumo (expediente {{ case.number }})",
        """Estimado/a señor/a:

El {{ organisation }} ha recibido una reclamación de {{ consumer.name }} dirigida a {{ company.name }}, que ha quedado registrada con el número de expediente {{ case.number }}. El importe reclamado es de {{ amount_claimed }}.

De acuerdo con la Ley 22/2010, de 20 de julio, del Código de consumo de Cataluña, les trasladamos esta reclamación y les invitamos a participar en un procedimiento de mediación, voluntario y gratuito, con la finalidad de llegar a una solución acordada entre las partes.

Les rogamos que nos hagan llegar su respuesta, con las alegaciones y, en su caso, la propuesta de solución que consideren oportunas, antes del {{ deadline }}, a través del enlace que les hemos enviado por correo electrónico.

Quedamos a su disposición para cualquier aclaración.

Atentamente,""",
    ),
    # --- Notice of the joint mediation session (to both parties) ----------------------------
    (LetterKind.CONVOCATORIA.value, "ca"): (
        "Convocatòria de sessió de mediació (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

En el marc del procediment de mediació de l'expedient {{ case.number }}, entre {{ consumer.name }} i {{ company.name }}, us convoquem a una sessió conjunta de mediació per videotrucada, que tindrà lloc el {{ session.when }} (hora de Madrid).

Per accedir-hi, feu servir l'enllaç següent: {{ session.link }}

La mediació és voluntària i confidencial. La persona mediadora del servei facilitarà el diàleg entre les parts perquè puguin arribar a un acord. Si no hi podeu assistir, us demanem que ens ho comuniqueu com més aviat millor.

Atentament,""",
    ),
    (LetterKind.CONVOCATORIA.value, "es"): (
        "Convocatoria de sesión de mediación (expediente {{ case.number }})",
        """Estimado/a señor/a:

En el marco del procedimiento de mediación del expediente {{ case.number }}, entre {{ consumer.name }} y {{ company.name }}, le convocamos a una sesión conjunta de mediación por videollamada, que tendrá lugar el {{ session.when }} (hora de Madrid).

Para acceder, utilice el siguiente enlace: {{ session.link }}

La mediación es voluntaria y confidencial. La persona mediadora del servicio facilitará el diálogo entre las partes para que puedan llegar a un acuerdo. Si no puede asistir, le rogamos que nos lo comunique lo antes posible.

Atentamente,""",
    ),
    # --- Closing of the case (to the consumer) ----------------------------------------------
    (LetterKind.TANCAMENT.value, "ca"): (
        "Tancament de l'expedient {{ case.number }}",
        """Benvolgut/Benvolguda senyor/a,

Us comuniquem que s'ha tancat l'expedient {{ case.number }}, corresponent a la vostra reclamació adreçada a {{ company.name }}, amb el resultat següent: {{ outcome }}.

Import reclamat: {{ amount_claimed }}. Import recuperat: {{ amount_recovered }}.

Si no esteu d'acord amb aquest resultat, podeu sol·licitar l'arbitratge de consum davant la Junta Arbitral de Consum de Catalunya, si l'empresa hi està adherida o l'accepta, o bé acudir a la via judicial.

Us agraïm la confiança dipositada en el nostre servei.

Atentament,""",
    ),
    (LetterKind.TANCAMENT.value, "es"): (
        "Cierre del expediente {{ case.number }}",
        """Estimado/a señor/a:

Le comunicamos que se ha cerrado el expediente {{ case.number }}, correspondiente a su reclamación dirigida a {{ company.name }}, con el siguiente resultado: {{ outcome }}.

Importe reclamado: {{ amount_claimed }}. Importe recuperado: {{ amount_recovered }}.

Si no está de acuerdo con este resultado, puede solicitar el arbitraje de consumo ante la Junta Arbitral de Consumo de Cataluña, si la empresa está adherida a él o lo acepta, o bien acudir a la vía judicial.

Le agradecemos la confianza depositada en nuestro servicio.

Atentamente,""",
    ),
    # --- Referral to consumer arbitration (to the consumer) ----------------------------------
    (LetterKind.DERIVACIO_ARBITRATGE.value, "ca"): (
        "Derivació a l'arbitratge de consum (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

Atès que la mediació amb {{ company.name }} en l'expedient {{ case.number }} no ha permès arribar a un acord, us informem que podeu sotmetre la controvèrsia a l'arbitratge de consum, davant la Junta Arbitral de Consum de Catalunya.

L'arbitratge de consum és voluntari per a les dues parts i gratuït. La decisió que s'hi adopta, el laude arbitral, és vinculant i té els mateixos efectes que una sentència judicial. Si l'empresa està adherida al sistema arbitral de consum, no caldrà que n'accepti la sol·licitud; en cas contrari, l'arbitratge només es podrà dur a terme si l'empresa l'accepta.

Per iniciar-lo, cal presentar una sol·licitud d'arbitratge adreçada a la Junta Arbitral de Consum de Catalunya, juntament amb la documentació de l'expedient, que us podem facilitar.

Atentament,""",
    ),
    (LetterKind.DERIVACIO_ARBITRATGE.value, "es"): (
        "Derivación al arbitraje de consumo (expediente {{ case.number }})",
        """Estimado/a señor/a:

Dado que la mediación con {{ company.name }} en el expediente {{ case.number }} no ha permitido llegar a un acuerdo, le informamos de que puede someter la controversia al arbitraje de consumo, ante la Junta Arbitral de Consumo de Cataluña.

El arbitraje de consumo es voluntario para ambas partes y gratuito. La decisión que se adopta, el laudo arbitral, es vinculante y tiene los mismos efectos que una sentencia judicial. Si la empresa está adherida al sistema arbitral de consumo, no será necesario que acepte la solicitud; en caso contrario, el arbitraje solo podrá llevarse a cabo si la empresa lo acepta.

Para iniciarlo, debe presentar una solicitud de arbitraje dirigida a la Junta Arbitral de Consumo de Cataluña, junto con la documentación del expediente, que le podemos facilitar.

Atentamente,""",
    ),
    # --- Referral to consumer inspection (to the consumer) -----------------------------------
    (LetterKind.DERIVACIO_INSPECCIO.value, "ca"): (
        "Trasllat a l'Agència Catalana del Consum (expedient {{ case.number }})",
        """Benvolgut/Benvolguda senyor/a,

Us informem que, en la tramitació de l'expedient {{ case.number }}, s'han observat fets relacionats amb {{ company.name }} que podrien constituir una infracció en matèria de consum d'acord amb la Llei 22/2010, del 20 de juliol, del Codi de consum de Catalunya.

Per aquest motiu, hem traslladat els fets a l'Agència Catalana del Consum, organisme competent en matèria d'inspecció i, si escau, de sanció, perquè valori les actuacions que corresponguin.

Aquest trasllat no resol la vostra reclamació individual: les actuacions d'inspecció no determinen la devolució de cap import a la persona consumidora.

Atentament,""",
    ),
    (LetterKind.DERIVACIO_INSPECCIO.value, "es"): (
        "Traslado a la Agència Catalana del Consum (expediente {{ case.number }})",
        """Estimado/a señor/a:

Le informamos de que, en la tramitación del expediente {{ case.number }}, se han observado hechos relacionados con {{ company.name }} que podrían constituir una infracción en materia de consumo de acuerdo con la Ley 22/2010, de 20 de julio, del Código de consumo de Cataluña.

Por este motivo, hemos trasladado los hechos a la Agència Catalana del Consum, organismo competente en materia de inspección y, en su caso, de sanción, para que valore las actuaciones que correspondan.

Este traslado no resuelve su reclamación individual: las actuaciones de inspección no determinan la devolución de ningún importe a la persona consumidora.

Atentamente,""",
    ),
}


def default_text(kind: str, language: str) -> tuple[str, str]:
    """The shipped (subject, body) of a kind in a language (Catalan when not shipped)."""
    return DEFAULTS.get((kind, language)) or DEFAULTS[(kind, "ca")]
