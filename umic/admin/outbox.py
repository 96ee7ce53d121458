"""The e-mail outbox, as coordinators see it: ``/admin/correu/``.

Every e-mail the app wrote, its status, attempts and last error; the text, the HTML (in a
sandbox), the invitation and the whole message as sent; a failed message can be sent again.
The messages hold citizens' personal data: like every admin page, coordinators only, and the
downloads are never cached (``no-store``, like every other personal-data download).

The links a citizen got (manage, upload, survey) are shown masked, as they are stored
(umic/mail/links.py): a coordinator sees which link went out, never one that opens it.
"""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from ..extensions import db
from ..mail.links import MASK
from ..mail.links import has_masked_links
from ..mail.outbox import build_message
from ..mail.outbox import retry
from ..models import OutboxMessage
from ..models import OutboxStatus
from ..web.forms import Form
from . import bp


@bp.app_template_global()
def status_label(status: str) -> str:
    """An outbox status in words."""
    return {
        OutboxStatus.PENDING: _("Pendent"),
        OutboxStatus.SENDING: _("Enviant"),
        OutboxStatus.SENT: _("Enviat"),
        OutboxStatus.FAILED: _("Fallit"),
        OutboxStatus.SUPERSEDED: _("Substituït"),
    }.get(status, status)


@bp.get("/correu/")
def outbox():
    """Every e-mail the app has written: status, attempts, last error; filter by status."""
    status = request.args.get("estat", "")
    from ..core.numbers import int_in_range  # a page number or None, never a 500

    page = int_in_range(request.args.get("pagina")) or 1
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status in {s.value for s in OutboxStatus}:
        query = query.where(OutboxMessage.status == status)
    messages = db.paginate(
        query, page=page, per_page=current_app.config["OUTBOX_PAGE_SIZE"], error_out=False
    )
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return render_template(
        "admin/outbox.html",
        messages=messages,
        counts=counts,
        status=status,
        statuses=list(OutboxStatus),
        suppressed=current_app.config.get("MAIL_SUPPRESS_SEND"),
        form=Form(),
    )


def _message_or_404(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return message


@bp.get("/correu/<int:message_id>")
def outbox_message(message_id: int):
    """One e-mail: headers, text, a link to its HTML, its invitation."""
    message = _message_or_404(message_id)
    return render_template(
        "admin/outbox_message.html",
        message=message,
        ics_text=message.ics.decode("utf-8") if message.ics else "",
        links_masked=has_masked_links(message.body_text, message.body_html),
        mask=MASK,
        form=Form(),
    )


@bp.get("/correu/<int:message_id>/html")
def outbox_html(message_id: int):
    """The HTML body, sandboxed: no scripts, no requests, no access to this site."""
    message = _message_or_404(message_id)
    response = Response(message.body_html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return response


@bp.get("/correu/<int:message_id>/invite.ics")
def outbox_ics(message_id: int):
    """The invitation exactly as sent."""
    message = _message_or_404(message_id)
    if not message.ics:
        abort(404)
    response = Response(message.ics, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="invite-{message.id}.ics"'
    return _personal_download(response)


@bp.get("/correu/<int:message_id>/missatge.eml")
def outbox_eml(message_id: int):
    """The whole MIME message, to open in any mail program."""
    message = _message_or_404(message_id)
    response = Response(build_message(message).as_bytes(), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="missatge-{message.id}.eml"'
    return _personal_download(response)


def _personal_download(response: Response) -> Response:
    """The headers of every personal-data download: never stored, never sniffed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/correu/<int:message_id>/reintenta")
def outbox_retry(message_id: int):
    """Send a failed message again on the worker's next pass."""
    _message_or_404(message_id)
    form = Form()
    if form.validate_on_submit() and retry(message_id):
        flash(_("El missatge s'enviarà de nou en la propera passada."), "success")
    else:
        flash(
            _(
                "No s'ha tornat a enviar: no estava fallit, o ja se n'ha escrit una versió "
                "més nova per a la mateixa persona."
            ),
            "error",
        )
    return redirect(url_for("admin.outbox_message", message_id=message_id), 303)


from . import expansion  # noqa: E402,F401
from . import hours  # noqa: E402,F401
from . import municipalities  # noqa: E402,F401
from . import statistics  # noqa: E402,F401
from . import survey_results  # noqa: E402,F401
