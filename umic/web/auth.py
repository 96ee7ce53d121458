"""Staff sign-in (Flask-Login) on server-side sessions, sign-in throttling, and role checks.

**Sessions** (docs/sessions.md). Signing in creates a ``StaffSession`` row; the browser's
(signed) cookie carries its random id, 192 bits, and the row only its SHA-256. Every request
of a signed-in member of staff loads user and session in one query (``load_user``) and is
refused, with the row ended, when the session is:

- ended on the server (sign-out, "end this session", a password change), or unknown;
- idle for more than ``STAFF_IDLE_MINUTES``, or older than ``STAFF_SESSION_MAX_HOURS``
  (counted from sign-in: using the session never extends it);
- used from another browser or network than the one it began in. Flask-Login's "strong"
  protection compares both on each request; it is real because the session is never marked
  permanent (a permanent one made it fall back to "basic"). Its identifier is ours
  (``session_identifier``): the address as the rate limits see it (behind ``PROXY_COUNT``
  proxies, never a raw ``X-Forwarded-For``; IPv6 by /64), and the User-Agent. Then the row
  is ended, a warning names the user id, and the owner is told at their next sign-in.

``last_seen_at`` is written at most once per ``STAFF_SESSION_TOUCH_SECONDS``, not on every
request.

**Throttling** (``sign_in_throttled``): failures are counted per (user name, address) and per
address; failures for a user name from every address only slow each address down, they never
lock the name (``umic.core.sessions.sign_in_refused``). Unknown user names cost a password
check too (``password_matches``), so the response time does not say which names exist.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from datetime import timedelta
from functools import lru_cache
from functools import wraps

from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import has_request_context
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from flask_login.signals import session_protected
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from .. import clock
from ..core import sessions as rules
from ..core.sessions import EndReason
from ..core.tokens import hash_token
from ..core.tokens import new_token
from ..extensions import db
from ..extensions import login_manager
from ..models import Role
from ..models import SignInAttempt
from ..models import StaffSession
from ..models import StaffUser
from .htmx import hx_redirect
from .i18n import clear_session
from .limits import address_key

log = logging.getLogger(__name__)

#: The key of the session cookie that carries the staff session's id.
SESSION_KEY = "staff_session"
#: Flask-Login's keys, removed with ours when a session is refused.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", SESSION_KEY)


# --- The session's life ---------------------------------------------------------------------------


def session_identifier() -> str:
    """What Flask-Login's "strong" protection compares: this browser, from this network.

    The address is the one the rate limits use (``limits.address_key``: after ProxyFix, IPv6
    by /64), never a raw ``X-Forwarded-For`` that a client can write.
    """
    agent = request.headers.get("User-Agent", "")
    base = f"{address_key(request.remote_addr)}|{agent}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()


# Flask-Login has no public setting for it; its default trusts X-Forwarded-For from anyone.
login_manager._session_identifier_generator = session_identifier


def _describe_browser() -> str:
    browser, system = rules.browser_family(request.headers.get("User-Agent"))
    return ", ".join(part for part in (browser, system) if part)


def start_session(user: StaffUser, now: datetime) -> list[str]:
    """Start a staff session for ``user`` in this browser; the caller commits.

    Returns the notices for the user: earlier sessions of theirs that were ended because they
    were used from another browser or network (told once).
    """
    login_user(user)  # the caller has emptied the session: no earlier id survives
    token = new_token()
    db.session.add(
        StaffSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            agent_hash=rules.agent_hash(request.headers.get("User-Agent")),
            browser=_describe_browser()[:80],
            network=rules.network_of(request.remote_addr),
        )
    )
    session[SESSION_KEY] = token
    warned = db.session.scalars(
        select(StaffSession.end_reason).where(
            StaffSession.user_id == user.id, StaffSession.warn_owner.is_(True)
        )
    ).all()
    if not warned:
        return []
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.warn_owner.is_(True))
        .values(warn_owner=False)
    )
    notices = []
    if EndReason.OTHER_BROWSER in warned:
        notices.append(
            _(
                "Una sessió vostra es va tancar perquè es va fer servir des d'un altre "
                "navegador. Si no éreu vós, canvieu la contrasenya i aviseu el coordinador."
            )
        )
    if EndReason.OTHER_NETWORK in warned:
        notices.append(
            _(
                "Una sessió vostra es va tancar perquè es va fer servir des d'una altra xarxa. "
                "Si no éreu vós, canvieu la contrasenya i aviseu el coordinador."
            )
        )
    return notices


def current_session() -> StaffSession | None:
    """The signed-in member of staff's session row in this request (after ``load_user``)."""
    if not current_user.is_authenticated:
        return None
    return g.get("staff_session")


def end_sessions(user_id: int, reason: EndReason, now: datetime, *, except_id=None) -> int:
    """End every open session of a user (but ``except_id``); the caller commits."""
    where = [StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)]
    if except_id is not None:
        where.append(StaffSession.id != except_id)
    result = db.session.execute(
        update(StaffSession).where(*where).values(ended_at=now, end_reason=reason)
    )
    return result.rowcount or 0


def sign_out(reason: EndReason = EndReason.SIGNED_OUT) -> None:
    """End this browser's session on the server and forget it here; the caller commits.

    The session cookie is emptied but for the language: the form token goes with it.
    """
    row = current_session()
    if row is not None:
        row.ended_at, row.end_reason = clock.now(), reason
    logout_user()
    clear_session()
    g.pop("staff_session", None)


def _refuse(reason: EndReason | None) -> None:
    """This request's session is not served: forget it in the cookie; say why later."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    g.session_refused = reason


def _end(row: StaffSession, reason: EndReason, now: datetime) -> None:
    row.ended_at, row.end_reason = now, reason
    row.warn_owner = reason in rules.WARN_OWNER
    if row.warn_owner:
        # An id, never a name: logs are not where personal data should end up.
        log.warning(
            "staff session %s of user %s ended: used from another %s",
            row.id,
            row.user_id,
            "browser" if reason == EndReason.OTHER_BROWSER else "network",
        )
    db.session.commit()


def _open_row(token: str) -> tuple[StaffSession, StaffUser] | None:
    found = db.session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.token_hash == hash_token(token))
    ).first()
    return None if found is None else (found[0], found[1])


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The signed-in member of staff, if their session is still good (one query)."""
    token = session.get(SESSION_KEY)
    if not user_id.isdigit() or not isinstance(token, str) or len(token) > 100:
        _refuse(None)
        return None
    found = _open_row(token)
    if found is None or found[1].id != int(user_id) or found[0].ended_at is not None:
        _refuse(found[0].end_reason if found else None)
        return None
    row, user = found
    config = current_app.config
    now = clock.now()
    if not user.active:
        reason = EndReason.ACCOUNT_DISABLED
    elif row.agent_hash != rules.agent_hash(request.headers.get("User-Agent")):
        reason = EndReason.OTHER_BROWSER  # only when "strong" protection is switched off
    else:
        reason = rules.end_reason(
            row.created_at,
            row.last_seen_at,
            now,
            idle=timedelta(minutes=config["STAFF_IDLE_MINUTES"]),
            lifetime=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
        )
    if reason is not None:
        _end(row, reason, now)
        _refuse(reason)
        return None
    if rules.needs_touch(
        row.last_seen_at, now, timedelta(seconds=config["STAFF_SESSION_TOUCH_SECONDS"])
    ):
        row.last_seen_at = now
        db.session.commit()
    g.staff_session = row
    return user


@session_protected.connect
def _used_elsewhere(app, **_extra) -> None:
    """Flask-Login saw this session's cookie from another browser or network: end it."""
    if not has_request_context():
        return
    token = session.pop(SESSION_KEY, None)
    if not isinstance(token, str):
        return  # a citizen's session, or one already signed out: nothing to end
    found = _open_row(token)
    g.session_refused = None  # the visitor is told nothing; the owner is, later
    if found is None or found[0].ended_at is not None:
        return
    row = found[0]
    same_browser = row.agent_hash == rules.agent_hash(request.headers.get("User-Agent"))
    reason = EndReason.OTHER_NETWORK if same_browser else EndReason.OTHER_BROWSER
    _end(row, reason, clock.now())


@login_manager.unauthorized_handler
def unauthorized():
    """Send to sign-in, saying why a session ended; htmx gets a full-page redirect."""
    reason = g.pop("session_refused", None)
    if reason == EndReason.IDLE:
        flash(_("La sessió s'ha tancat per inactivitat. Torneu a entrar."), "error")
    elif reason == EndReason.EXPIRED:
        hours = current_app.config["STAFF_SESSION_MAX_HOURS"]
        flash(_("La sessió ha durat %(hours)s hores: torneu a entrar.", hours=hours), "error")
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        return hx_redirect(target)
    return redirect(target)


def staff_required() -> None:
    """For ``before_request``: any signed-in member of staff with a live session."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def staff_only(view):
    """Decorator for a single view that any signed-in member of staff may use."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        refused = staff_required()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    return wrapped


def purge_staff_sessions(now: datetime) -> int:
    """Forget sessions unused for 30 days (they hold a network and a browser), once told."""
    result = db.session.execute(
        delete(StaffSession).where(
            StaffSession.last_seen_at < now - timedelta(days=30),
            StaffSession.warn_owner.is_(False),
        )
    )
    db.session.commit()
    return result.rowcount or 0


# --- Passwords and throttling ---------------------------------------------------------------------


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """A hash of a random password, made like the real ones, for names that do not exist."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def password_matches(user: StaffUser | None, password: str) -> bool:
    """Check a password, running the hasher once whether or not the user exists.

    Without a user (or without a password set) a dummy hash made with the same method is
    checked instead, so an unknown name costs the same time as a known one.
    """
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(StaffUser.password_method), password)
        return False
    return check_password_hash(user.password_hash, password)


def client_address() -> str:
    """The address sign-in attempts are counted by (IPv6 by /64, as the rate limits)."""
    return address_key(request.remote_addr)[:45]


def sign_in_throttled(username: str, ip: str, now: datetime) -> bool:
    """Too many recent failures from this address, for this name or any (one query)."""
    config = current_app.config
    since = now - timedelta(minutes=config["SIGN_IN_WINDOW_MINUTES"])
    here, by_name = SignInAttempt.ip == ip, SignInAttempt.username == username
    counts = db.session.execute(
        select(
            func.count(case((and_(here, by_name), 1))),
            func.count(case((here, 1))),
            func.count(case((by_name, 1))),
        ).where(SignInAttempt.success.is_(False), SignInAttempt.at >= since, or_(here, by_name))
    ).one()
    return rules.sign_in_refused(*counts, limit=config["SIGN_IN_MAX_FAILURES"])


def record_sign_in(username: str, ip: str, now: datetime, success: bool) -> None:
    db.session.add(SignInAttempt(username=username[:40], ip=ip[:45], at=now, success=success))


# --- Roles ----------------------------------------------------------------------------------------


def role_required(role: Role):
    """Decorator for a single view that needs a role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = role  # read by ``required_role`` (the route-walk test)
        return wrapped

    return decorator


def role_guard(role: Role):
    """For a blueprint's ``before_request``: every view of it needs a signed-in ``role``."""

    def guard():
        refused = staff_required()
        if refused is not None:
            return refused
        if current_user.role != role:
            abort(403)
        return None

    guard.required_role = role
    return guard


def required_role(app, endpoint: str) -> str | None:
    """The role a view needs, by its own decorator or its blueprint's guard (None: any staff).

    The route-walk test asks this of every staff route, so a guard cannot be forgotten.
    """
    role = getattr(app.view_functions[endpoint], "required_role", None)
    blueprint = endpoint.rpartition(".")[0]
    for function in app.before_request_funcs.get(blueprint, ()):
        role = role or getattr(function, "required_role", None)
    return role
