"""A form sent after its token's time limit comes back with what was typed (WCAG 2.2.1).

Form tokens do not expire by default (``WTF_CSRF_TIME_LIMIT = None``). Where a deployment
sets a limit anyway, someone who fills a form slowly must not lose it: when the only thing
wrong with a refused form is the age of its token, the error page offers to send the same
values again with a fresh token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app
from flask import request
from flask import session
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer


@dataclass
class Resend:
    """What the error page needs to send the form again."""

    action: str
    fields: list[tuple[str, str]]
    had_files: bool


def _token_is_ours_but_old(sent: str) -> bool:
    """Signed by us for this very session; so only its age (or the Referer) was refused.

    Checking the session's raw token matters: an attacker's own old token must not earn a
    page that re-sends the attacker's values with a fresh token.
    """
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if not sent or not isinstance(raw, str):
        return False
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    try:
        token = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(sent)
    except BadData:
        return False
    return isinstance(token, str) and hmac.compare_digest(raw, token)


def resend_expired_form() -> Resend | None:
    """The values of a plain form refused only for its token's age, to send again; else None.

    htmx requests (the token in a header) get no such page: they re-render on the next load.
    """
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if request.method != "POST" or not _token_is_ours_but_old(request.form.get(field, "")):
        return None
    fields = [(name, value) for name, value in request.form.items(multi=True) if name != field]
    query = request.query_string.decode("latin-1")
    action = request.script_root + request.path + (f"?{query}" if query else "")
    had_files = any(upload.filename for upload in request.files.values())
    return Resend(action=action, fields=fields, had_files=had_files)
