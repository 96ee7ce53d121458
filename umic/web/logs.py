"""Log lines without bearer tokens or what staff searched for.

The links sent to citizens carry a token in the path (``/cita/<token>``,
``/documents/<token>``, ``/enquesta/<token>``, ``/seguiment/<token>``, the staff calendar feed
``/calendari/<token>.ics``): whoever reads an access log line with one could open that
booking. The staff case search puts a citizen's name in ``?q=``. :func:`mask` replaces those
parts with ``***``, and :class:`MaskTokens`, a logging filter, applies it to every line of the
loggers that print request addresses:

- ``werkzeug``: the development server's access log (``make run``);
- ``gunicorn.access`` and ``gunicorn.error``: production's access log, whatever
  ``--access-logformat`` says (the path, the query and the Referer are all masked);
- ``umic``: Flask's "Exception on /cita/<token> [GET]" lines, and the app's own modules.

The app's own log lines name ids, never people (no names, no e-mail addresses), and the
database engine never prints statement parameters (``hide_parameters`` in
``config.SQLALCHEMY_ENGINE_OPTIONS``): a traceback shows the SQL, not the personal data in it.
"""

from __future__ import annotations

import logging
import re

#: The loggers whose lines may carry a request's address.
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "umic", "umic.web.security")

MASK = "***"

#: A token in a citizen's link, or in a calendar feed's address. ``/espai/documents/<id>``
#: (a staff download, by id) is not a token.
_PATH_TOKEN = re.compile(
    r"(?<!/espai)(/(?:cita|documents|enquesta|seguiment|calendari)/)"
    r"[^/?#\s\"'\x1b]+?(?=\.ics\b|[/?#\s\"'\x1b]|$)"
)
#: ``q=`` in a query string, also URL-encoded inside another parameter (``?next=…%3Fq%3D…``).
_SEARCH = re.compile(r"((?:[?&;]|%3[fF]|%26)q(?:=|%3[dD]))[^&\s\"'#\x1b]*")


def mask(text: str) -> str:
    """``text`` with link tokens and search terms replaced by ``***``."""
    return _SEARCH.sub(rf"\g<1>{MASK}", _PATH_TOKEN.sub(rf"\g<1>{MASK}", text))


class MaskTokens(logging.Filter):
    """Rewrites a record's message with :func:`mask` (the record is kept, never dropped)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as it would
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install(names: tuple[str, ...] = LOGGERS) -> None:
    """Put the filter on each logger once (create_app may run many times in one process)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskTokens) for f in logger.filters):
            logger.addFilter(MaskTokens())
