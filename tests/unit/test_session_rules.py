"""The rules of staff sessions and sign-in throttling (umic.core.sessions), without the app."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from umic.core.sessions import EndReason
from umic.core.sessions import agent_hash
from umic.core.sessions import browser_family
from umic.core.sessions import end_reason
from umic.core.sessions import needs_touch
from umic.core.sessions import network_of
from umic.core.sessions import password_weakness
from umic.core.sessions import sign_in_refused

START = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # any moment: the rules only subtract
IDLE, LIFETIME = timedelta(minutes=60), timedelta(hours=10)


def test_an_open_session_goes_on_until_idle_or_too_old():
    assert end_reason(START, START, START + timedelta(minutes=60), IDLE, LIFETIME) is None
    idle = end_reason(START, START, START + timedelta(minutes=60, seconds=1), IDLE, LIFETIME)
    assert idle == EndReason.IDLE
    busy = START + LIFETIME + timedelta(seconds=1)
    assert end_reason(START, busy, busy, IDLE, LIFETIME) == EndReason.EXPIRED


def test_last_use_is_written_once_a_minute():
    every = timedelta(seconds=60)
    assert not needs_touch(START, START + timedelta(seconds=59), every)
    assert needs_touch(START, START + timedelta(seconds=60), every)


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/18.1 Safari/605.1.15",
            ("Safari", "macOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            ("Samsung Internet", "Android"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            ("Chrome", "iOS"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ("Firefox", "Linux"),
        ),
        ("curl/8.5.0", (None, None)),
        (None, (None, None)),
    ],
)
def test_the_browser_family_as_people_name_it(agent, family):
    assert browser_family(agent) == family


def test_the_network_not_the_address_is_kept():
    assert network_of("192.0.2.44") == "192.0.2.0/24"
    assert network_of("::ffff:192.0.2.44") == "192.0.2.0/24"
    assert network_of("2001:db8:1:2:3::4") == "2001:db8:1::/48"
    assert network_of("not an address") == network_of(None) == ""


def test_a_browser_is_remembered_only_as_a_hash():
    assert agent_hash("Firefox/133.0") == agent_hash("Firefox/133.0") != agent_hash("curl/8")
    assert len(agent_hash(None)) == 64


@pytest.mark.parametrize(
    ("here", "address", "name", "refused"),
    [
        (4, 4, 4, False),
        (5, 5, 5, True),  # this address, this name: the attacker
        (0, 19, 19, False),
        (0, 20, 20, True),  # this address, many names
        (0, 0, 1000, False),  # a name under attack from elsewhere: never locked here
        (1, 1, 9, False),
        (1, 1, 10, True),  # ...but an address that failed for it waits
    ],
)
def test_throttling_the_attacker_not_the_owner(here, address, name, refused):
    assert sign_in_refused(here, address, name, limit=5) is refused


def test_a_staff_password_has_12_characters_and_is_not_the_user_name():
    assert password_weakness("onze lletre", "OPSSVEGAVN") == "short"
    assert password_weakness("opssvegavn12", "OPSSVEGAVN12") == "username"
    assert password_weakness("dotze lletre", "OPSSVEGAVN") is None
