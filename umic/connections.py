"""Database connections that are checked after a quiet spell, not before every request.

A pooled connection can die while it waits (the database restarted, a firewall dropped an
idle socket). SQLAlchemy's ``pool_pre_ping`` finds out by sending a ``SELECT 1`` at every
checkout, and so every request, however short, pays a round trip to the database first; for
the day-times fragment (one query when its free times are kept) that ping was a third of the
database time, and on a busy server each round trip waits for the database process to be
scheduled.

Here a connection is pinged only when it has been idle for ``DATABASE_PING_AFTER_IDLE_SECONDS``
(10 s by default): the moments when a dead connection is likely. A connection that fails the
ping is thrown away and the pool gives a fresh one, as with ``pool_pre_ping`` (the checkout
listener raises ``DisconnectionError``, which SQLAlchemy documents for this). A connection
in constant use is not pinged: if the database goes away under a busy app, the requests in
flight fail once, SQLAlchemy recognises the disconnection and renews the whole pool, and the
next requests get new connections. ``0`` pings at every checkout, like ``pool_pre_ping``.
"""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy.engine import Engine

_IDLE_SINCE = "umic.idle_since"


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping ``engine``'s pooled connections at checkout once idle for ``seconds``."""

    def checked_in(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < seconds:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("the idle connection is gone") from error
        if alive is False:
            raise exc.DisconnectionError("the idle connection is gone")

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)
