"""Pages every visitor may read: the start page, the privacy notice, how to connect."""

from __future__ import annotations

from datetime import date

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import url_for

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """The service's start page sends people to the booking."""
    return redirect(url_for("booking.index"))


@bp.get("/privacitat")
def privacy():
    """Informació sobre protecció de dades (the version is stored with each consent)."""
    return render_template(
        "pages/privacy.html", version=current_app.config["PRIVACY_NOTICE_VERSION"]
    )


@bp.get("/com-connectar")
def instructions():
    """Com connectar-vos a la videotrucada."""
    return render_template("pages/instructions.html")


@bp.get("/accessibilitat")
def accessibility():
    """Declaració d'accessibilitat (Real Decreto 1112/2018, the EU model statement)."""
    return render_template(
        "pages/accessibility.html",
        statement_date=lambda: date.fromisoformat(current_app.config["ACCESSIBILITY_REVIEWED"]),
    )


@bp.get("/salut")
def health():
    """For load balancers: the app answers."""
    return {"status": "ok"}
