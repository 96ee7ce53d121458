"""The quality of the automatic suggestions, for coordinators: ``/admin/triatge/``.

What the models measured on cases they were not trained on, how often technicians accepted
each kind of suggestion, the last training runs, and a button that asks the worker to train
again (umic.triage.schedule). The figures and their meaning are umic.triage.figures's; this
module only shows them. Coordinators only, like every admin page (the blueprint's guard).
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..triage import figures as quality
from ..triage.schedule import request_training
from ..web.forms import Form
from . import bp
from .reports import decimal
from .reports import number


@bp.get("/triatge/")
def triage_figures():
    """The models' measured quality, the acceptance of their suggestions, the runs."""
    return render_template(
        "admin/triage.html",
        figures=quality.figures(),
        percent=quality.percent,
        kind_text=quality.kind_text,
        model_text=quality.model_text,
        trigger_text=quality.trigger_text,
        status_text=quality.status_text,
        number=number,
        decimal=decimal,
        form=Form(),
    )


@bp.post("/triatge/entrena")
def triage_train():
    """Ask the worker to train the models in its next pass."""
    form = Form()
    if form.validate_on_submit():
        request_training(actor=current_user, now=clock.now())
        flash(
            _(
                "Entrenament demanat: el procés de fons el farà en la seva propera passada. "
                "Torneu a carregar aquesta pàgina d'aquí a uns minuts per veure'n el resultat."
            ),
            "success",
        )
    return redirect(url_for("admin.triage_figures"), 303)
