"""When the citizen's "join the call" button is live (review finding L8).

A join link that works days ahead puts the citizen in an empty room: the technician is not
there, and on a public Jitsi server the first person in may even be asked to sign in as the
room's moderator. So the citizen's pages (the confirmation and the manage page) offer the
link as a live button only from ``JOIN_OPENS_MINUTES_BEFORE`` minutes before the start until
the call's end; before then they say when it will be available; after the end it is not
offered. Staff's own buttons are not timed (the technician opens the room first).

The e-mails and the invitation (.ics) still carry the link from the start: a calendar entry
is where people look for it on the day, a calendar cannot be updated when the time comes,
and the e-mail is read days before. Those copies say to open it "uns minuts abans".

Pure: no Flask, no database; the caller gives the app's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

EARLY = "early"  # not yet: say when it opens
OPEN = "open"  # the live button
OVER = "over"  # after the call's end: not offered


@dataclass(frozen=True)
class JoinButton:
    state: str
    opens_at: datetime


def join_button(start: datetime, end: datetime, now: datetime, minutes_before: int) -> JoinButton:
    """Whether the join link is live at ``now``, and from when (``start`` - minutes_before)."""
    opens_at = start - timedelta(minutes=max(0, minutes_before))
    if now >= end:
        return JoinButton(OVER, opens_at)
    if now < opens_at:
        return JoinButton(EARLY, opens_at)
    return JoinButton(OPEN, opens_at)
