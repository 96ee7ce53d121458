"""Municipal websites embed the booking in an iframe.

Why each piece is as it is: docs/accessibility.md, "Embedding in a town's website". The design,
in short:

- **Same flow, second address.** The booking blueprint is registered a second time under
  ``/incrustat`` with the name ``embed``; its views and templates use relative endpoints
  (``.town``, ``.details`` ...), so every step of an embedded booking stays embedded. Templates
  ask ``embedded()`` and get a minimal header (town, language switch), a footer whose links
  open in a new tab, and the small ``embed-frame.js`` resizer; no other page loads it.
- **Framing.** An embed response may be framed by the town's allowed origins and by us:
  ``g.frame_ancestors`` (read by ``umic.web.security``) is set from the town in the URL (the
  slug) or, on ``/cita/<token>`` pages, from the booking. Only that town's origins are sent,
  so the header stays small enough for a reverse proxy's default buffers. Every other route
  keeps ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.
- **Cookies.** Browsers do not send a ``SameSite=Lax`` cookie to a cross-site iframe and block
  third-party cookies; a *partitioned* cookie (CHIPS) is kept per top-level site. Embed
  requests use their own session cookie, ``SameSite=None; Secure; Partitioned``, on the
  ``/incrustat`` path only; the rest of the app keeps its ``Lax`` cookie untouched.
- **No cookie at all.** If the browser still sends no session, Flask-WTF cannot check the
  form's token: instead of a 400 the embed answers with a page that opens the same step on
  the normal site in a new tab.
- **The registry** keeps each town's origins (validated and normalised here) and shows the
  link, the iframe snippet and the parent script.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import select
from wtforms import TextAreaField

from . import clock
from .booking.routes import bp as booking_bp
from .booking.service import find_by_token
from .extensions import db
from .mailbox.routes import bp as mailbox_bp
from .models import Municipality
from .web.forms import Form
from .web.urls import external_url

#: The embedded booking's blueprint name and address prefix.
EMBED = "embed"
EMBED_PREFIX = "/incrustat"
#: The embedded mailbox's blueprint name (``/incrustat/bustia/<town>/``, umic.mailbox).
EMBED_MAILBOX = "embed_mailbox"
EMBED_BLUEPRINTS = (EMBED, EMBED_MAILBOX)
#: Embedded pages keep their own session cookie, apart from the site's (see the module doc).
EMBED_COOKIE = "umic_incrustat"

#: At most this many origins per town, each at most this long: the CSP stays under 2 KB,
#: well within a reverse proxy's default header buffers.
MAX_ORIGINS = 10
MAX_ORIGIN_LENGTH = 100
#: Plain http is accepted only for a developer's own machine.
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
#: The iframe's height before (or without) the resizer: tall enough for every step on a phone
#: (the tallest, the details with their errors, is about 2,900 px at 360 px wide), so a
#: browser without JavaScript never scrolls inside the frame.
DEFAULT_HEIGHT = 3000

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- Origins (no Flask: plain values in, plain values out) ------------------------------------


class OriginProblem(enum.Enum):
    """Why a line is not an origin a town may embed from."""

    SCHEME = "scheme"  # not https:// (or http:// on the developer's own machine)
    HOST = "host"  # no host, or not a valid host name
    PORT = "port"
    PATH = "path"  # a path, query, fragment or user name after the host
    TOO_LONG = "too_long"


class OriginError(ValueError):
    def __init__(self, problem: OriginProblem):
        super().__init__(problem.value)
        self.problem = problem


def _host(raw: str) -> str:
    """The host in lower case, in ASCII (IDNA) as CSP needs; raises on anything else."""
    host = raw.lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        ipaddress.IPv6Address(host[1:-1])
        return host
    try:
        ipaddress.IPv4Address(host)
        return host
    except ValueError:
        pass
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(host)
    if labels[-1].isdigit():  # 10.0.0 is neither an address nor a name
        raise ValueError(host)
    return host


def normalise_origin(text: str) -> str:
    """'HTTPS://WWW.Gelida.cat/' -> 'https://www.gelida.cat'; raises OriginError otherwise.

    An origin is a scheme, a host and an optional port: exactly what CSP ``frame-ancestors``
    and ``postMessage`` compare. https only, except http on localhost for trying it out.
    """
    text = text.strip()
    if len(text) > MAX_ORIGIN_LENGTH:
        raise OriginError(OriginProblem.TOO_LONG)
    if any(char.isspace() or char in ";,'\"" for char in text):
        raise OriginError(OriginProblem.HOST)
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed "[" of an IPv6 address
        raise OriginError(OriginProblem.HOST) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not text.lower().startswith(scheme + "://"):
        raise OriginError(OriginProblem.SCHEME)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise OriginError(OriginProblem.PATH)
    netloc = parts.netloc
    if "@" in netloc:
        raise OriginError(OriginProblem.PATH)
    try:
        port = parts.port
    except ValueError:
        raise OriginError(OriginProblem.PORT) from None
    if port == 0:
        raise OriginError(OriginProblem.PORT)
    has_port = port is not None or netloc.endswith(":")
    raw_host = netloc.rsplit(":", 1)[0] if has_port else netloc
    if not raw_host or raw_host == "[]":
        raise OriginError(OriginProblem.HOST)
    try:
        host = _host(raw_host)
    except (ValueError, UnicodeError):
        raise OriginError(OriginProblem.HOST) from None
    if scheme == "http" and host not in LOCAL_HOSTS:
        raise OriginError(OriginProblem.SCHEME)
    default_port = 443 if scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{scheme}://{host}{suffix}"


class OriginsError(ValueError):
    """The first wrong line of a list of origins (1-based), or too many of them."""

    def __init__(self, line: int, text: str, problem: OriginProblem | None):
        super().__init__(line, text, problem)
        self.line = line
        self.text = text
        self.problem = problem  # None: more than MAX_ORIGINS


def parse_origins(text: str) -> list[str]:
    """One origin per line, normalised, without blank lines or repeats, at most MAX_ORIGINS."""
    origins: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            origin = normalise_origin(line)
        except OriginError as error:
            raise OriginsError(number, line.strip(), error.problem) from None
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise OriginsError(0, "", None)
    return origins


def allowed_origins(town: Municipality | None) -> list[str]:
    """What may frame this town's embedded pages: its stored origins that are still valid."""
    if town is None:
        return []
    valid = []
    for line in town.origins[:MAX_ORIGINS]:
        try:
            valid.append(normalise_origin(line))
        except OriginError:
            continue  # never let a bad row into a header
    return valid


# --- The request: embedded or not, which town --------------------------------------------------


def is_embed_path() -> bool:
    """True for requests under /incrustat (known before the URL is matched)."""
    if not has_request_context():
        return False
    path = request.path
    return path == EMBED_PREFIX or path.startswith(EMBED_PREFIX + "/")


def embedded() -> bool:
    """True while rendering an embedded booking or mailbox page (templates call this)."""
    return has_request_context() and request.blueprint in EMBED_BLUEPRINTS


def embed_town() -> Municipality | None:
    """The town whose website frames this embedded page, if known."""
    return g.get("embed_town")


def _town_from(values: dict) -> Municipality | None:
    if "slug" in values:
        return db.session.scalar(select(Municipality).where(Municipality.slug == values["slug"]))
    if "token" in values:
        booking = find_by_token(values["token"], clock.now())
        return booking.municipality if booking is not None else None
    return None


def frame_embed(endpoint: str | None, values: dict | None) -> None:
    """Before anything else (even the CSRF check): who may frame this embed response."""
    if not endpoint or endpoint.split(".", 1)[0] not in EMBED_BLUEPRINTS:
        return
    town = _town_from(values or {})
    g.embed_town = town
    # 'self' plus the town's origins (umic.web.security); a town without any: 'self' only.
    g.frame_ancestors = allowed_origins(town)


class EmbedSessionInterface(SecureCookieSessionInterface):
    """The site's session cookie as configured; embedded pages get a partitioned one.

    ``SameSite=None; Secure; Partitioned`` is what a cross-site iframe may still keep (CHIPS);
    browsers accept Secure cookies on http://localhost too. Its own name and path keep the
    two cookies apart when both exist on one browser.
    """

    def get_cookie_name(self, app: Flask) -> str:
        return EMBED_COOKIE if is_embed_path() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        if is_embed_path():
            return request.script_root + EMBED_PREFIX
        return super().get_cookie_path(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if is_embed_path() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if is_embed_path() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if is_embed_path() else super().get_cookie_partitioned(app)


# --- Pages -------------------------------------------------------------------------------------


def csrf_fallback(error) -> Response | tuple[Response, int] | None:
    """An embedded form that could not be checked opens on the normal site, in a new tab.

    Without any session (the browser keeps no cookie for the frame) the answer is a plain
    200 page with the link; with a session whose token does not match, the same page as an
    error (400). Outside the embed: None, and the usual CSRF page is shown.
    """
    if not embedded():
        return None
    if "frame_ancestors" not in g:
        frame_embed(request.endpoint, request.view_args)
    view = request.endpoint.split(".", 1)[1]
    args = dict(request.view_args or {})
    slot = request.form.get("slot", "")[:40]
    if slot:
        args["slot"] = slot
    lang = request.args.get("lang")
    if lang:
        args["lang"] = lang
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    no_session = field not in session
    site = "mailbox" if request.blueprint == EMBED_MAILBOX else "booking"
    page = render_template(
        "embed/new_tab.html", url=url_for(f"{site}.{view}", **args), no_session=no_session
    )
    return page if no_session else (page, 400)


def new_tab_text() -> str:
    return _("(s'obre en una pestanya nova)")


def out_link(href: str, text: str, class_: str = "") -> Markup:
    """A link that leaves the booking: in the embed it opens a new tab and says so.

    Leaving the frame would lose the booking; a town's own accessibility statement does not
    cover our pages, so ours must stay reachable from the frame.
    """
    attrs = f' class="{escape(class_)}"' if class_ else ""
    if embedded():
        return Markup(
            '<a href="{href}"{attrs} target="_blank" rel="noopener">{text} '
            '<span class="new-tab">{note}</span></a>'
        ).format(href=href, attrs=Markup(attrs), text=text, note=new_tab_text())
    return Markup('<a href="{href}"{attrs}>{text}</a>').format(
        href=href, attrs=Markup(attrs), text=text
    )


# --- The registry: link, origins, snippet ------------------------------------------------------


def embed_url(town: Municipality) -> str:
    """The address the town's iframe loads."""
    return external_url(f"{EMBED}.town", slug=town.slug)


def mailbox_embed_url(town: Municipality) -> str:
    """The address a town's iframe loads for the mailbox (the same snippet, another src)."""
    return external_url(f"{EMBED_MAILBOX}.town", slug=town.slug)


def parent_script_url() -> str:
    return external_url("static", filename="js/embed-parent.js")


def iframe_title() -> str:
    return _("Cita prèvia del servei de consum (Diputació de Barcelona)")


def snippet(town: Municipality) -> str:
    """The HTML a town's webmaster pastes: the iframe and our resizer.

    No ``sandbox``: the booking needs forms, its cookie and links that open a new tab.
    """
    return (
        f'<iframe src="{escape(embed_url(town))}" title="{escape(iframe_title())}" '
        f'width="100%" height="{DEFAULT_HEIGHT}" loading="lazy"></iframe>\n'
        f'<script src="{escape(parent_script_url())}" defer></script>'
    )


def our_origin() -> str:
    """Our own origin, for the town's frame-src."""
    parts = urlsplit(current_app.config["BASE_URL"])
    return f"{parts.scheme}://{parts.netloc}"


ORIGIN_MESSAGES = {
    OriginProblem.SCHEME: _l(
        "La línia %(line)s, «%(text)s», ha de començar per https:// (http:// només per a localhost)"
    ),
    OriginProblem.HOST: _l(
        "La línia %(line)s, «%(text)s», no té un nom de servidor vàlid, "
        "per exemple https://www.gelida.cat"
    ),
    OriginProblem.PORT: _l("La línia %(line)s, «%(text)s», té un port que no és vàlid"),
    OriginProblem.PATH: _l(
        "La línia %(line)s, «%(text)s», ha de ser només l'origen, sense camí ni paràmetres: "
        "per exemple https://www.gelida.cat"
    ),
    OriginProblem.TOO_LONG: _l(
        "La línia %(line)s és massa llarga: un origen té com a màxim %(max)s caràcters"
    ),
}


def origins_message(error: OriginsError) -> str:
    if error.problem is None:
        return _("Hi podeu posar com a màxim %(max)s orígens", max=MAX_ORIGINS)
    text = error.text if len(error.text) <= 60 else error.text[:57] + "..."
    return str(ORIGIN_MESSAGES[error.problem]) % {
        "line": error.line,
        "text": text,
        "max": MAX_ORIGIN_LENGTH,
    }


class EmbedOriginsForm(Form):
    """The web origins allowed to frame a town's booking, one per line."""

    origins = TextAreaField(_l("Orígens autoritzats per incrustar la reserva"))

    def validate_origins(self, field) -> None:
        try:
            self.cleaned = parse_origins(field.data or "")
        except OriginsError as error:
            field.errors.append(origins_message(error))


def registry_context(town: Municipality, form: EmbedOriginsForm | None = None) -> dict:
    """What the registry's "Incrusta-ho al web municipal" section shows for a town."""
    if form is None:
        form = EmbedOriginsForm(formdata=None, data={"origins": "\n".join(town.origins)})
    return {
        "embed_form": form,
        "embed_snippet": snippet(town),
        "embed_mailbox_url": mailbox_embed_url(town),
        "embed_origin": our_origin(),
        "embed_max_origins": MAX_ORIGINS,
        "embed_height": DEFAULT_HEIGHT,
    }


def save_origins(town: Municipality, form: EmbedOriginsForm) -> bool:
    """Validate and store the town's origins (the caller commits)."""
    if not form.validate_on_submit():
        return False
    town.embed_origins = "\n".join(form.cleaned)
    return True


# --- Wiring ------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """The embedded booking, its session cookie, framing and template helpers."""
    app.register_blueprint(booking_bp, name=EMBED, url_prefix=EMBED_PREFIX)
    app.register_blueprint(mailbox_bp, name=EMBED_MAILBOX, url_prefix=EMBED_PREFIX)
    app.session_interface = EmbedSessionInterface()
    # A URL value preprocessor runs before every before_request (the CSRF check included), so
    # even a refused form is answered with the town's frame-ancestors.
    app.url_value_preprocessor(frame_embed)
    app.jinja_env.globals.update(
        embedded=embedded,
        embed_town=embed_town,
        embed_frame_origins=lambda: allowed_origins(embed_town()),
        out_link=out_link,
        new_tab_text=new_tab_text,
    )
