"""What the optional language model is asked, with what, and the log of every use.

``summarise(case, ...)`` asks for a short summary of a long description (at least
``ASSIST_SUMMARY_MIN_CHARS`` characters); ``draft_reply(case, ...)`` for a first draft of a
reply to the person, for the technician to edit. Both:

1. take the case's description (and, for the draft, what the person asks for) and remove the
   personal data (``umic.core.redact``): the patterns for e-mails, phones, ids, accounts,
   addresses and introduced names, plus the case's own person wherever written (the case's and
   its booking's name, each name part, e-mail, phone and address);
2. write the prompt in the case's language: Spanish for a case in Spanish (the mailbox
   message's language, else its booking's), Catalan otherwise; the answer comes in the same
   language, the draft being for the person and the summary beside their words;
3. call the model (``umic.assist.client``), and log the use (``AssistUse``: who, which case,
   what for, the host and model, characters sent, details removed, seconds, ok or the short
   error): the facts, never the text. The log is committed whether the call worked or not.

The model never changes the case: the text goes back to the technician's page only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext

from ..core.codes import AssistPurpose
from ..core.codes import CaseType
from ..core.redact import redact
from ..extensions import db
from ..models import AssistUse
from ..models import CaseFile
from ..models import StaffUser
from .client import AssistError
from .client import ChatClient
from .client import host_of

__all__ = ["AssistError", "AssistResult", "draft_reply", "enabled", "summarise"]


@dataclass(frozen=True)
class AssistResult:
    """The model's text and how many personal details were removed before sending."""

    text: str
    redactions: int


def enabled() -> bool:
    """Whether a model server is configured (``ASSIST_URL``)."""
    return bool((current_app.config.get("ASSIST_URL") or "").strip())


def summary_offered(case: CaseFile) -> bool:
    """A summary is offered for descriptions at least ``ASSIST_SUMMARY_MIN_CHARS`` long."""
    return len((case.description or "").strip()) >= current_app.config["ASSIST_SUMMARY_MIN_CHARS"]


def configured_host() -> str:
    return host_of(current_app.config.get("ASSIST_URL") or "")


def configured_model() -> str:
    return current_app.config.get("ASSIST_MODEL") or ""


def known_personal_data(case: CaseFile) -> list[str]:
    """The case's own person as written on the case and its booking."""
    values = [
        case.interested_name,
        case.interested_email,
        case.interested_phone,
        case.interested_address,
    ]
    booking = case.booking
    if booking is not None:
        values += [
            booking.citizen_name,
            booking.citizen_email,
            booking.citizen_phone,
            booking.citizen_address,
        ]
    return [value for value in values if value]


_SYSTEM = {
    (AssistPurpose.SUMMARY, "ca"): (
        "Ets un assistent del servei de consum d'una administració pública. Resumeix en "
        "català, en tres a cinc frases, el problema de consum que una persona ha descrit: "
        "què ha passat, amb quina empresa, quins imports i dates, i què demana. No afegeixis "
        "res que no digui el text i no donis consells. Les dades personals s'han substituït "
        "per marcadors entre claudàtors ([NOM], [CORREU], [TELÈFON], [DOCUMENT], [ADREÇA], "
        "[COMPTE]): deixa'ls tal com són i no n'inventis el contingut."
    ),
    (AssistPurpose.SUMMARY, "es"): (
        "Eres un asistente del servicio de consumo de una administración pública. Resume en "
        "castellano, en tres a cinco frases, el problema de consumo que una persona ha "
        "descrito: qué ha pasado, con qué empresa, qué importes y fechas, y qué pide. No "
        "añadas nada que no diga el texto y no des consejos. Los datos personales se han "
        "sustituido por marcadores entre corchetes ([NOM], [CORREU], [TELÈFON], [DOCUMENT], "
        "[ADREÇA], [COMPTE]): déjalos tal cual y no inventes su contenido."
    ),
    (AssistPurpose.DRAFT, "ca"): (
        "Ets un tècnic del servei de consum d'una administració pública. Escriu en català un "
        "primer esborrany, breu i amable, de la resposta a la persona consumidora que ha "
        "descrit el problema: agraeix la consulta, resumeix el que has entès, explica els "
        "passos que seguirà el servei i quina documentació pot caldre. No prometis cap "
        "resultat, no citis lleis ni terminis si no n'estàs segur i no inventis dades. "
        "Comença amb «Benvolgut/da [NOM],» i signa «El Servei de Consum». Les dades personals "
        "s'han substituït per marcadors entre claudàtors: deixa'ls tal com són."
    ),
    (AssistPurpose.DRAFT, "es"): (
        "Eres un técnico del servicio de consumo de una administración pública. Escribe en "
        "castellano un primer borrador, breve y amable, de la respuesta a la persona "
        "consumidora que ha descrito el problema: agradece la consulta, resume lo que has "
        "entendido, explica los pasos que seguirá el servicio y qué documentación puede "
        "hacer falta. No prometas ningún resultado, no cites leyes ni plazos si no estás "
        "seguro y no inventes datos. Empieza con «Estimado/a [NOM]:» y firma «El Servicio de "
        "Consumo». Los datos personales se han sustituido por marcadores entre corchetes: "
        "déjalos tal cual."
    ),
}

_HEADINGS = {
    "ca": ("Tipus", "Empresa", "Descripció", "Què demana"),
    "es": ("Tipo", "Empresa", "Descripción", "Qué pide"),
}


def _case_type_label(case: CaseFile, language: str) -> str:
    member = CaseType.from_word(case.case_type)
    if member is None:
        return case.case_type or ""
    with force_locale(language):
        return gettext(member.label)


def build_prompt(case: CaseFile, purpose: str) -> tuple[str, str, int]:
    """(system, user, details removed): the prompt for ``case``, personal data removed."""
    language = case.reply_language
    known = known_personal_data(case)
    kind, company, description, asks = _HEADINGS[language]
    described = redact(case.description or "", known)
    lines = [f"{kind}: {_case_type_label(case, language)}"]
    if case.company:
        lines.append(f"{company}: {case.company}")
    lines += ["", f"{description}:", described.text.strip()]
    removed = described.count
    if purpose == AssistPurpose.DRAFT and (case.claim_request or "").strip():
        request = redact(case.claim_request, known)
        lines += ["", f"{asks}:", request.text.strip()]
        removed += request.count
    return _SYSTEM[(AssistPurpose(purpose), language)], "\n".join(lines), removed


def client() -> ChatClient:
    config = current_app.config
    return ChatClient(
        url=config["ASSIST_URL"].strip(),
        model=config.get("ASSIST_MODEL") or "",
        api_key=config.get("ASSIST_API_KEY") or "",
        timeout=float(config["ASSIST_TIMEOUT_SECONDS"]),
    )


def _ask(case: CaseFile, purpose: str, *, actor: StaffUser | None, now: datetime) -> AssistResult:
    if not enabled():
        raise AssistError("not configured")
    system, user, removed = build_prompt(case, purpose)
    chat = client()
    use = AssistUse(
        at=now,
        actor_id=actor.id if actor is not None else None,
        case_id=case.id,
        purpose=str(purpose),
        host=host_of(chat.url)[:200],
        model=chat.model[:120],
        chars_sent=len(system) + len(user),
        redactions=removed,
    )
    started = time.monotonic()
    try:
        text = chat.chat(system, user)
    except AssistError as error:
        use.ok = False
        use.error = error.reason
        raise
    else:
        use.ok = True
    finally:
        use.seconds = round(time.monotonic() - started, 3)
        db.session.add(use)
        db.session.commit()
    return AssistResult(text=text, redactions=removed)


def summarise(case: CaseFile, *, actor: StaffUser | None, now: datetime) -> AssistResult:
    """A short summary of the case's description (raises ``AssistError``; the use is logged)."""
    return _ask(case, AssistPurpose.SUMMARY, actor=actor, now=now)


def draft_reply(case: CaseFile, *, actor: StaffUser | None, now: datetime) -> AssistResult:
    """A first draft of a reply to the person (raises ``AssistError``; the use is logged)."""
    return _ask(case, AssistPurpose.DRAFT, actor=actor, now=now)
