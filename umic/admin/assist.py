"""The optional language model's log, as coordinators see it: ``/admin/assistent/``.

The last 200 uses (``AssistUse``): when, who, which case, what for, to which host and model,
how many characters went out and how many personal details were taken out first, how long it
took and whether it worked. The texts themselves are never stored, so they are not here
either. The page also says whether a model is configured: its host and model, never the key.
One query for the list (the case's number and the person's name joined in).
"""

from __future__ import annotations

from flask import render_template
from flask_babel import format_decimal
from sqlalchemy import select

from ..assist import service as assist
from ..core.codes import AssistPurpose
from ..extensions import db
from ..models import AssistUse
from ..models import CaseFile
from ..models import StaffUser
from . import bp

#: How many uses the page lists, newest first.
LOG_SIZE = 200


@bp.get("/assistent/")
def assist_log():
    """The language model's configuration and its last uses."""
    rows = db.session.execute(
        select(AssistUse, CaseFile.number, StaffUser.username, StaffUser.name)
        .outerjoin(CaseFile, CaseFile.id == AssistUse.case_id)
        .outerjoin(StaffUser, StaffUser.id == AssistUse.actor_id)
        .order_by(AssistUse.at.desc(), AssistUse.id.desc())
        .limit(LOG_SIZE)
    ).all()
    return render_template(
        "admin/assist_log.html",
        rows=rows,
        enabled=assist.enabled(),
        host=assist.configured_host(),
        model=assist.configured_model(),
        log_size=LOG_SIZE,
        purpose_labels={purpose.value: purpose.label for purpose in AssistPurpose},
        number_text=lambda value: format_decimal(value, format="#,##0"),
        seconds_text=lambda value: format_decimal(value, format="#,##0.0"),
    )
