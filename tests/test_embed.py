"""The booking embedded in municipal websites (umic/embed.py; docs/accessibility.md).

Framing headers per route and per town, the embed's own partitioned session cookie, the whole
booking under /incrustat staying in the frame, the "open it in a new tab" page instead of a
400, the validation of the origins a town allows, and the registry section that shows the
link, the snippet and those origins. The same in Chromium: tests/test_embed_browser.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from support.factories import World
from support.factories import make_booking
from support.factories import make_staff
from support.factories import make_town
from support.factories import make_world
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.journey import DETAILS
from support.outbox import clear_text
from umic import clock
from umic import embed
from umic.booking.service import find_by_token
from umic.embed import MAX_ORIGINS
from umic.embed import OriginError
from umic.embed import OriginProblem
from umic.embed import OriginsError
from umic.embed import normalise_origin
from umic.embed import parse_origins
from umic.extensions import db
from umic.models import Booking
from umic.models import BookingDraft
from umic.models import BookingStatus
from umic.models import Municipality
from umic.models import OutboxMessage
from umic.models import Role

GELIDA_ORIGINS = ["https://www.gelida.cat", "http://localhost:8000"]
BEGUES_ORIGINS = ["https://begues.cat"]
NEW_TAB = "(s'obre en una pestanya nova)"


# --- Helpers ----------------------------------------------------------------------------------


def frame_ancestors(response) -> list[str]:
    """The sources of the CSP frame-ancestors directive."""
    policy = response.headers["Content-Security-Policy"]
    directives = [d.strip().split() for d in policy.split(";")]
    found = [d[1:] for d in directives if d and d[0] == "frame-ancestors"]
    assert len(found) == 1, policy
    return found[0]


def embeddable(response, origins: list[str]) -> None:
    """Framed by us and exactly these origins; no X-Frame-Options to contradict it."""
    assert frame_ancestors(response) == ["'self'", *origins]
    assert "X-Frame-Options" not in response.headers


def never_framed(response) -> None:
    assert frame_ancestors(response) == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def set_cookie(response, name: str) -> dict[str, str | bool]:
    """The attributes of the Set-Cookie header for ``name`` (lower-case keys)."""
    for header in response.headers.getlist("Set-Cookie"):
        parts = [part.strip() for part in header.split(";")]
        if parts[0].startswith(name + "="):
            attrs: dict[str, str | bool] = {}
            for part in parts[1:]:
                key, _, value = part.partition("=")
                attrs[key.lower()] = value or True
            return attrs
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


def slots(client, base: str) -> list[str]:
    page = client.get(base).get_data(as_text=True)
    day = re.findall(r'name="dia" value="([^"]+)"', page)[0]
    page = client.get(f"{base}?dia={day}").get_data(as_text=True)
    return re.findall(r'name="slot" value="([^"]+)"', page)


def send_details(client, base: str, slot: str, **fields):
    page = client.get(f"{base}dades", query_string={"slot": slot}).get_data(as_text=True)
    data = {**DETAILS, **fields, "slot": slot, "csrf_token": csrf_token(page)}
    return client.post(f"{base}dades", data=data)


def confirm(client, base: str):
    page = client.get(f"{base}comprova").get_data(as_text=True)
    return client.post(f"{base}comprova", data={"csrf_token": csrf_token(page)})


def leaving_links(html: str) -> list[str]:
    """Links that leave the embedded booking without opening a new tab (there must be none).

    A link may stay in the frame (/incrustat/...), be an anchor, a phone or mail link, or open
    a new tab (target=_blank, rel=noopener) and say so.
    """
    wrong = []
    for link in soup(html).select("a[href]"):
        href = link["href"]
        if href.startswith(("/incrustat/", "#", "tel:", "mailto:")):
            continue
        if (
            link.get("target") == "_blank"
            and "noopener" in link.get("rel", [])
            and NEW_TAB in link.get_text()
        ):
            continue
        wrong.append(href)
    return wrong


@pytest.fixture
def world(app) -> World:
    """Gelida (two origins) with the service and technicians; Begues (one); Torrelles (none)."""
    world = make_world()
    world.town.embed_origins = "\n".join(GELIDA_ORIGINS)
    begues = make_town("Begues", "08020", comarca="Baix Llobregat")
    begues.embed_origins = "\n".join(BEGUES_ORIGINS)
    make_town("Torrelles de Llobregat", "08286", comarca="Baix Llobregat")
    db.session.commit()
    return world


def a_booking(world: World, days: int = 3) -> tuple[Booking, str]:
    start = (clock.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return make_booking(world.town, world.service, world.technicians[0], start)


def booked_token(client, base: str = "/incrustat/reserva/gelida/") -> str:
    """Book the first free time through the embed; the manage token."""
    response = send_details(client, base, slots(client, base)[0])
    assert response.status_code == 303, response.get_data(as_text=True)
    response = confirm(client, base)
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


# --- Origins: what a town may list -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://www.gelida.cat", "https://www.gelida.cat"),
        ("  HTTPS://WWW.Gelida.CAT/  ", "https://www.gelida.cat"),
        ("https://gelida.cat.", "https://gelida.cat"),
        ("https://gelida.cat:443", "https://gelida.cat"),
        ("https://gelida.cat:8443", "https://gelida.cat:8443"),
        ("https://ajuntament.sant-cugat.cat", "https://ajuntament.sant-cugat.cat"),
        ("https://www.façana.cat", "https://www.xn--faana-zra.cat"),
        ("https://192.0.2.10", "https://192.0.2.10"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://localhost:80", "http://localhost"),
    ],
)
def test_origins_are_normalised_to_what_csp_and_postmessage_compare(typed, stored):
    assert normalise_origin(typed) == stored


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("http://www.gelida.cat", OriginProblem.SCHEME),  # http only for one's own machine
        ("www.gelida.cat", OriginProblem.SCHEME),
        ("ftp://gelida.cat", OriginProblem.SCHEME),
        ("https:/gelida.cat", OriginProblem.SCHEME),
        ("javascript:alert(1)", OriginProblem.SCHEME),
        ("https://gelida.cat/cita-previa", OriginProblem.PATH),
        ("https://gelida.cat/?a=1", OriginProblem.PATH),
        ("https://gelida.cat#consum", OriginProblem.PATH),
        ("https://admin@gelida.cat", OriginProblem.PATH),
        ("https://gelida.cat:99999", OriginProblem.PORT),
        ("https://gelida.cat:abc", OriginProblem.PORT),
        ("https://gelida.cat:0", OriginProblem.PORT),
        ("https://", OriginProblem.HOST),
        ("https://gelida cat", OriginProblem.HOST),
        ("https://*.gelida.cat", OriginProblem.HOST),
        ("https://-gelida.cat", OriginProblem.HOST),
        ("https://10.0.0", OriginProblem.HOST),
        ("https://[abc", OriginProblem.HOST),  # not even a URL: refused, never a 500
        # Nothing that could add a source or a directive to the header.
        ("https://gelida.cat; script-src *", OriginProblem.HOST),
        ("https://gelida.cat 'unsafe-inline'", OriginProblem.HOST),
        ("'self'", OriginProblem.HOST),
        ("https://gelida.cat,https://x.cat", OriginProblem.HOST),
        ("https://" + "a" * 95 + ".cat", OriginProblem.TOO_LONG),
    ],
)
def test_anything_but_a_plain_https_origin_is_refused_with_the_reason(typed, problem):
    with pytest.raises(OriginError) as caught:
        normalise_origin(typed)
    assert caught.value.problem is problem


def test_a_list_of_origins_drops_blank_lines_and_repeats_and_keeps_the_order():
    text = "https://www.gelida.cat\n\n  \nHTTPS://WWW.GELIDA.CAT/\nhttp://localhost:8000\n"
    assert parse_origins(text) == ["https://www.gelida.cat", "http://localhost:8000"]
    assert parse_origins("") == [] and parse_origins("\n \n") == []


def test_a_wrong_line_is_named_by_its_number_and_too_many_origins_are_refused():
    with pytest.raises(OriginsError) as caught:
        parse_origins("https://www.gelida.cat\n\nhttp://www.gelida.cat")
    assert (caught.value.line, caught.value.text) == (3, "http://www.gelida.cat")
    assert caught.value.problem is OriginProblem.SCHEME
    many = "\n".join(f"https://web{n}.gelida.cat" for n in range(MAX_ORIGINS + 1))
    with pytest.raises(OriginsError) as caught:
        parse_origins(many)
    assert caught.value.problem is None
    assert len(parse_origins("\n".join(many.splitlines()[:MAX_ORIGINS]))) == MAX_ORIGINS


# --- Framing: which site may show which page --------------------------------------------------


def test_each_towns_embed_may_be_framed_only_by_that_towns_origins(client, world):
    embeddable(client.get("/incrustat/reserva/gelida/"), GELIDA_ORIGINS)
    embeddable(client.get("/incrustat/reserva/begues/"), BEGUES_ORIGINS)
    # A town that listed no origin: only our own pages may frame it.
    embeddable(client.get("/incrustat/reserva/torrelles-de-llobregat/"), [])
    # The htmx fragment of the times, and the next steps, answer the same.
    day = slots(client, "/incrustat/reserva/gelida/")[0][:10]
    fragment = client.get(f"/incrustat/reserva/gelida/?dia={day}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    embeddable(fragment, GELIDA_ORIGINS)


def test_every_other_page_may_never_be_framed(client, world):
    _booking, token = a_booking(world)
    for path in [
        "/reserva/",
        "/reserva/gelida/",
        f"/cita/{token}",
        f"/cita/{token}/anulla",
        "/entra",
        "/com-connectar",
        "/accessibilitat",
        "/no-existeix",
    ]:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        never_framed(response)


def test_the_search_of_all_towns_in_the_embed_belongs_to_no_town(client, world):
    embeddable(client.get("/incrustat/reserva/"), [])


def test_an_embedded_manage_link_is_framed_by_the_booking_towns_origins(client, world):
    _booking, token = a_booking(world)
    for path in [f"/incrustat/cita/{token}", f"/incrustat/cita/{token}/anulla"]:
        embeddable(client.get(path), GELIDA_ORIGINS)
    # An unknown link names no town: our own pages only.
    response = client.get("/incrustat/cita/no-such-token")
    assert response.status_code == 404
    embeddable(response, [])


def test_a_refused_form_keeps_the_towns_framing_so_its_message_shows_in_the_frame(client, world):
    slot = slots(client, "/incrustat/reserva/gelida/")[0]
    data = {**DETAILS, "slot": slot}
    forged = client.post(
        "/incrustat/reserva/gelida/dades", data=data, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status_code == 403
    embeddable(forged, GELIDA_ORIGINS)
    no_token = client.post("/incrustat/reserva/gelida/dades", data=data)
    assert no_token.status_code in (200, 400)
    embeddable(no_token, GELIDA_ORIGINS)
    assert db.session.scalar(select(BookingDraft)) is None


def test_a_bad_origin_stored_by_hand_never_reaches_the_header(client, world):
    world.town.embed_origins = "https://www.gelida.cat\nhttps://x.cat; script-src *\n'self'"
    db.session.commit()
    embeddable(client.get("/incrustat/reserva/gelida/"), ["https://www.gelida.cat"])


def test_the_header_stays_small_with_the_most_origins_a_town_may_have(client, world):
    # Labels of at most 63 characters; each origin exactly as long as allowed.
    longest = [f"https://w{n}.{'a' * 60}.{'b' * 24}.cat" for n in range(MAX_ORIGINS)]
    assert {len(origin) for origin in longest} == {embed.MAX_ORIGIN_LENGTH}
    assert parse_origins("\n".join(longest)) == longest
    world.town.embed_origins = "\n".join(longest)
    db.session.commit()
    response = client.get("/incrustat/reserva/gelida/")
    embeddable(response, longest)
    assert len(response.headers["Content-Security-Policy"]) < 2048  # fits a proxy's default buffers


# --- Cookies ----------------------------------------------------------------------------------


def test_the_embed_keeps_its_own_partitioned_session_cookie(client, world, app):
    embedded = set_cookie(client.get("/incrustat/reserva/gelida/"), embed.EMBED_COOKIE)
    assert embedded["samesite"] == "None"
    assert embedded["secure"] is True and embedded["partitioned"] is True
    assert embedded["httponly"] is True
    assert embedded["path"] == "/incrustat"

    site = set_cookie(client.get("/reserva/gelida/"), app.config["SESSION_COOKIE_NAME"])
    assert site["samesite"] == "Lax" and site["path"] == "/" and site["httponly"] is True
    assert "partitioned" not in site
    # The tests' site is http://localhost: Secure follows BASE_URL (umic.web.security).
    assert "secure" not in site


def test_the_embed_and_the_site_never_share_a_draft(client, world):
    slot = slots(client, "/incrustat/reserva/gelida/")[0]
    assert send_details(client, "/incrustat/reserva/gelida/", slot).status_code == 303
    assert client.get("/incrustat/reserva/gelida/comprova").status_code == 200
    # The same browser on the site itself: no draft there, back to choosing a time.
    response = client.get("/reserva/gelida/comprova")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reserva/gelida/"


# --- The booking inside the frame ---------------------------------------------------------------


def test_the_whole_booking_stays_in_the_frame_and_links_out_open_a_new_tab(client, world):
    base = "/incrustat/reserva/gelida/"
    first = client.get(base)
    page = soup(first.get_data(as_text=True))
    assert page.select_one("body")["class"] == ["embedded"]
    assert page.select_one("a.brand") is None  # no site header, no way out of the flow
    assert page.select_one(".brand-org").get_text(strip=True) == "Gelida"
    assert page.select("[autofocus]") == []  # the town's page keeps its scroll and focus
    resizer = page.select_one("script[src*='embed-frame.js']")
    assert resizer["data-origins"] == " ".join(GELIDA_ORIGINS)
    statement = page.find("a", href="/accessibilitat")
    assert statement["target"] == "_blank" and NEW_TAB in statement.get_text()  # linked here too
    pages = [first.get_data(as_text=True)]

    free = slots(client, base)
    pages.append(client.get(f"{base}?dia={free[0][:10]}").get_data(as_text=True))
    pages.append(client.get(f"{base}dades", query_string={"slot": free[0]}).get_data(as_text=True))
    empty = client.post(f"{base}dades", data={"slot": free[0], "csrf_token": csrf_token(pages[-1])})
    assert empty.status_code == 200 and error_messages(empty.get_data(as_text=True))
    pages.append(empty.get_data(as_text=True))
    response = send_details(client, base, free[0])
    assert response.headers["Location"] == f"{base}comprova"
    pages.append(client.get(f"{base}comprova").get_data(as_text=True))
    response = confirm(client, base)
    manage = response.headers["Location"]
    assert manage.startswith("/incrustat/cita/")
    token = manage.rsplit("/", 1)[1]
    confirmation = client.get(manage)
    embeddable(confirmation, GELIDA_ORIGINS)
    pages.append(confirmation.get_data(as_text=True))
    booking = find_by_token(token, clock.now())
    assert booking.reference in soup(pages[-1]).select_one(".panel").get_text()
    # The link to keep opens the normal site, in a new tab.
    kept = soup(pages[-1]).select_one(".manage-link a")
    assert kept["href"] == f"http://localhost/cita/{token}" and kept["target"] == "_blank"

    # Reschedule and cancel, still in the frame.
    pages.append(client.get(f"{manage}/planifica").get_data(as_text=True))
    other = slots(client, f"{manage}/planifica")
    page = client.get(f"{manage}/planifica/confirma", query_string={"slot": other[0]})
    pages.append(page.get_data(as_text=True))
    response = client.post(
        f"{manage}/planifica/confirma",
        data={"slot": other[0], "csrf_token": csrf_token(pages[-1])},
    )
    assert response.headers["Location"] == manage
    pages.append(client.get(f"{manage}/anulla").get_data(as_text=True))
    response = client.post(f"{manage}/anulla", data={"csrf_token": csrf_token(pages[-1])})
    assert response.headers["Location"] == manage
    pages.append(client.get(manage).get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED

    for html in pages:
        assert leaving_links(html) == []
        assert soup(html).select_one("a.brand") is None


def test_the_emailed_manage_link_opens_the_normal_site(client, world):
    token = booked_token(client)
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == DETAILS["email"])
    ).all()
    assert messages
    for message in messages:
        assert f"http://localhost/cita/{token}" in clear_text(message)
        assert "/incrustat" not in message.body_text + message.body_html


def test_a_town_that_cannot_book_says_so_in_the_frame(client, world):
    make_town("Abrera", "08001", enrolled=False)
    response = client.get("/incrustat/reserva/abrera/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "embedded" in soup(html).select_one("body")["class"]
    assert leaving_links(html) == []


# --- No cookie in the frame: open it in a new tab ------------------------------------------------


def test_a_form_sent_without_any_session_offers_the_same_step_in_a_new_tab(app, world):
    browser = app.test_client()
    slot = slots(browser, "/incrustat/reserva/gelida/")[0]
    frame = app.test_client()  # a browser that keeps no cookie for the frame
    response = frame.post(
        "/incrustat/reserva/gelida/dades", data={**DETAILS, "slot": slot, "csrf_token": "x"}
    )
    assert response.status_code == 200
    page = soup(response.get_data(as_text=True))
    assert page.select_one("h1").get_text(strip=True) == "Obriu el formulari en una pestanya nova"
    assert "embedded" in page.select_one("body")["class"]
    link = page.select_one("main a.button")
    assert link["target"] == "_blank" and "noopener" in link["rel"]
    url = urlsplit(link["href"])
    assert url.path == "/reserva/gelida/dades"
    assert parse_qs(url.query) == {"slot": [slot]}
    assert db.session.scalar(select(BookingDraft)) is None  # nothing was kept

    # The new tab is a top-level visit to the site: the same step, the same time, and it books.
    tab = app.test_client()
    opened = tab.get(link["href"])
    assert opened.status_code == 200
    never_framed(opened)
    assert f'value="{slot}"' in opened.get_data(as_text=True)
    response = tab.post(
        "/reserva/gelida/dades",
        data={**DETAILS, "slot": slot, "csrf_token": csrf_token(opened.get_data(as_text=True))},
    )
    assert response.headers["Location"] == "/reserva/gelida/comprova"


def test_changing_a_booking_without_any_session_offers_the_manage_step_in_a_new_tab(app, world):
    booking, token = a_booking(world)
    frame = app.test_client()
    response = frame.post(f"/incrustat/cita/{token}/anulla", data={"reason": "ja està"})
    assert response.status_code == 200
    embeddable(response, GELIDA_ORIGINS)
    assert soup(response.get_data(as_text=True)).select_one("main a.button")["href"] == (
        f"/cita/{token}/anulla"
    )
    slot = "2030-01-07T16:00:00+01:00"
    response = frame.post(f"/incrustat/cita/{token}/planifica/confirma", data={"slot": slot})
    href = soup(response.get_data(as_text=True)).select_one("main a.button")["href"]
    assert urlsplit(href).path == f"/cita/{token}/planifica/confirma"
    assert parse_qs(urlsplit(href).query) == {"slot": [slot]}
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED


def test_a_wrong_token_with_a_session_gets_the_same_page_as_an_error_not_a_bare_400(client, world):
    client.get("/incrustat/reserva/gelida/")  # the session exists
    slot = slots(client, "/incrustat/reserva/gelida/")[0]
    response = client.post(
        "/incrustat/reserva/gelida/dades", data={**DETAILS, "slot": slot, "csrf_token": "stale"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Obre el formulari en una pestanya nova" in html
    # Outside the embed, the site's own page for an expired form, as before.
    response = client.post("/reserva/gelida/dades", data={**DETAILS, "slot": slot})
    assert response.status_code == 400
    assert "El formulari ha caducat" in response.get_data(as_text=True)


# --- The registry: link, origins, snippet --------------------------------------------------------


@pytest.fixture
def coordinator(login):
    make_staff("OPSSCOORD", role=Role.COORDINATOR, name="Coordinadora Puig")
    login("OPSSCOORD")


def registry_page(client, town: Municipality) -> str:
    response = client.get(f"/admin/municipis/{town.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_origins(client, town: Municipality, text: str):
    page = registry_page(client, town)
    return client.post(
        f"/admin/municipis/{town.id}/incrustacio",
        data={"origins": text, "csrf_token": csrf_token(page)},
    )


def test_the_registry_shows_the_link_and_asks_for_origins_before_the_snippet(
    client, world, coordinator
):
    town = db.session.scalar(select(Municipality).where(Municipality.slug == "begues"))
    town.embed_origins = ""
    db.session.commit()
    page = soup(registry_page(client, town))
    assert page.select_one("#booking-link")["value"] == "http://localhost/reserva/begues/"
    assert page.select_one("textarea#origins").get_text(strip=True) == ""
    assert page.select_one("#embed-snippet") is None
    assert "apareixerà el codi" in page.get_text()


def test_saved_origins_are_normalised_and_the_snippet_appears(client, world, coordinator):
    town = world.town
    response = post_origins(
        client,
        town,
        "HTTPS://WWW.Gelida.cat/\r\n\r\nhttp://localhost:8000\r\nhttps://www.gelida.cat",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/municipis/{town.id}#incrusta"
    db.session.expire_all()
    assert db.session.get(Municipality, town.id).origins == GELIDA_ORIGINS

    page = soup(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "S'han desat els orígens" in page.get_text()
    assert page.select_one("textarea#origins").get_text().split() == GELIDA_ORIGINS
    snippet = soup(page.select_one("textarea#embed-snippet").get_text())
    frame = snippet.select_one("iframe")
    assert frame["src"] == "http://localhost/incrustat/reserva/gelida/"
    assert frame["title"] == "Cita prèvia del servei de consum (Diputació de Barcelona)"
    assert frame["loading"] == "lazy" and frame["width"] == "100%"
    assert int(frame["height"]) == embed.DEFAULT_HEIGHT
    # Nothing extra: no sandbox (forms, cookies and new tabs are needed), no camera or microphone.
    assert set(frame.attrs) == {"src", "title", "width", "height", "loading"}
    script = snippet.select_one("script")
    assert urlsplit(script["src"]).path == "/static/js/embed-parent.js"
    assert script["src"].startswith("http://localhost/") and script.has_attr("defer")
    # Our origin, for the town's own Content-Security-Policy.
    assert "http://localhost a frame-src" in page.get_text()

    # Emptied: no site may frame it any more.
    response = post_origins(client, town, "")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Municipality, town.id).origins == []
    embeddable(client.get("/incrustat/reserva/gelida/"), [])


def test_a_wrong_origin_is_explained_beside_the_field_and_nothing_is_saved(
    client, world, coordinator
):
    typed = "https://www.gelida.cat\nhttp://www.gelida.cat"
    response = post_origins(client, world.town, typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = soup(html)
    assert page.select_one("title").get_text().startswith("Error:")
    message = (
        "La línia 2, «http://www.gelida.cat», ha de començar per https:// "
        "(http:// només per a localhost)"
    )
    assert error_messages(html) == [message]
    assert summary_links(html) == [("#origins", message)]
    field = page.select_one("textarea#origins")
    assert field["aria-invalid"] == "true" and "origins-error" in field["aria-describedby"]
    assert field.get_text().strip() == typed  # kept as typed
    db.session.expire_all()
    assert db.session.get(Municipality, world.town.id).origins == GELIDA_ORIGINS

    too_many = "\n".join(f"https://web{n}.gelida.cat" for n in range(MAX_ORIGINS + 1))
    html = post_origins(client, world.town, too_many).get_data(as_text=True)
    assert error_messages(html) == [f"Hi podeu posar com a màxim {MAX_ORIGINS} orígens"]


def test_switching_language_after_a_wrong_origin_keeps_what_was_typed(client, world, coordinator):
    typed = "https://www.gelida.cat\nhttp://www.gelida.cat"
    html = post_origins(client, world.town, typed).get_data(as_text=True)
    buttons = soup(html).select(".language-switch button")
    assert [b["form"] for b in buttons] == ["embed-form"]  # not the town form, which is empty
    assert buttons[0]["formaction"] == f"/admin/municipis/{world.town.id}/incrustacio?lang=es"
    response = client.post(
        buttons[0]["formaction"],
        data={"origins": typed, "csrf_token": csrf_token(html), "_idioma": "es"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and soup(html).html["lang"] == "es"
    assert soup(html).select_one("textarea#origins").get_text().strip() == typed
    assert error_messages(html) == []  # shown again, not checked
    db.session.expire_all()
    assert db.session.get(Municipality, world.town.id).origins == GELIDA_ORIGINS


def test_a_technician_may_not_change_a_towns_origins(client, world, login):
    login("OPSSVEGAVN")
    assert client.get(f"/admin/municipis/{world.town.id}").status_code == 403
    page = client.get("/espai/").get_data(as_text=True)
    response = client.post(
        f"/admin/municipis/{world.town.id}/incrustacio",
        data={"origins": "https://evil.example", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Municipality, world.town.id).origins == GELIDA_ORIGINS


def test_a_town_not_enrolled_has_no_embed_section_and_saves_nothing(client, world, coordinator):
    abrera = make_town("Abrera", "08001", enrolled=False)
    page = soup(registry_page(client, abrera))
    assert page.select_one("#origins") is None and page.select_one("#booking-link") is None
    response = post_origins(client, abrera, "https://www.abrera.cat")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Municipality, abrera.id).origins == []
