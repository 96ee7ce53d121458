"""Compression (umic.web.compression): static files and the booking's public fragments are
compressed for clients that accept it; pages that carry a form token, the CSV export and
everything else are not; UMIC_COMPRESS=false turns it off."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from urllib.parse import urlencode

import brotli
import pytest

from support.factories import make_staff
from support.factories import make_world
from support.htmlutil import soup
from support.journey import Citizen
from umic import HTMX_FILE
from umic import clock
from umic.casefiles import queries
from umic.casefiles.service import create_case
from umic.extensions import db

STATIC = Path(__file__).resolve().parents[1] / "umic" / "static"
GZIP = {"Accept-Encoding": "gzip"}
HTMX = {"HX-Request": "true"}
#: What Chromium sends.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def static_url(client, filename: str) -> str:
    """The URL the pages link to (with its ``?v=`` version when it has one)."""
    page = client.get("/reserva/").get_data(as_text=True)
    tags = soup(page).select("script[src], link[rel=stylesheet]")
    return next(
        t.get("src") or t.get("href") for t in tags if filename in (t.get("src") or t.get("href"))
    )


def fetch(client, url: str, method: str = "GET", **headers):
    """A static file's response, read and closed (the test client leaves the file open)."""
    response = client.open(url, method=method, headers=headers)
    response.get_data()
    response.close()
    return response


def vary(response) -> list[str]:
    return [v.strip().lower() for v in response.headers.get("Vary", "").split(",")]


@pytest.mark.parametrize("filename", [HTMX_FILE, "css/app.css"])
def test_static_files_are_gzipped_for_a_client_that_accepts_it(client, filename):
    make_world()
    url = static_url(client, filename)
    original = (STATIC / filename).read_bytes()

    response = fetch(client, url, **GZIP)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in vary(response)
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    assert len(body) < len(original) / 2
    assert gzip.decompress(body) == original
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    plain = fetch(client, url)  # no Accept-Encoding: the file as it is
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == original
    assert "accept-encoding" in vary(plain)


def test_a_browser_gets_brotli_and_revalidates_with_a_304(client):
    make_world()
    url = static_url(client, "css/app.css").split("?")[0]  # unversioned: revalidated
    response = fetch(client, url, **BROWSER)
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.get_data()) == (STATIC / "css/app.css").read_bytes()
    assert fetch(client, url, **BROWSER).get_data() == response.get_data()  # from the cache
    etag = response.headers["ETag"]
    assert etag.endswith(":" + response.headers["Content-Encoding"] + '"')
    again = fetch(client, url, **BROWSER, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_head_gets_the_headers_of_get(client):
    make_world()
    url = static_url(client, HTMX_FILE)
    get = fetch(client, url, **GZIP)
    head = fetch(client, url, "HEAD", **GZIP)
    assert head.status_code == 200
    assert head.get_data() == b""
    for name in ("Content-Encoding", "Content-Length", "ETag", "Vary", "Content-Type"):
        assert head.headers.get(name) == get.headers.get(name), name


def test_the_day_times_fragment_is_compressed_and_decodes(client):
    make_world()
    citizen = Citizen(client)
    day = citizen.full_day()
    plain = client.get(f"/reserva/gelida/?dia={day}", headers=HTMX)
    response = client.get(f"/reserva/gelida/?dia={day}", headers={**HTMX, **GZIP})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert {"accept-encoding", "hx-request"} <= set(vary(response))
    html = gzip.decompress(response.get_data()).decode()
    assert 'name="slot"' in html
    assert "csrf_token" not in html
    assert html == plain.get_data(as_text=True)


def test_pages_with_a_form_token_are_not_compressed(client):
    """BREACH: every full page carries the session's CSRF token (unmasked) next to input the
    request reflects, so its size must not depend on that input through compression."""
    make_world()
    citizen = Citizen(client)
    slot = citizen.first_slot()
    for path in (
        "/reserva/?q=gelida",
        "/reserva/gelida/",
        f"/reserva/gelida/?dia={slot[:10]}",
        "/reserva/gelida/dades?" + urlencode({"slot": slot}),
        "/entra",
    ):
        response = client.get(path, headers=BROWSER)
        assert response.status_code == 200, path
        assert "Content-Encoding" not in response.headers, path
        assert "csrf_token" in response.get_data(as_text=True) or "X-CSRFToken" in (
            response.get_data(as_text=True)
        )


def test_the_csv_export_still_streams_uncompressed_and_is_correct(app, client, login):
    make_staff("OPSSVEGAVN")
    login("OPSSVEGAVN")
    for name in ("Núria Puig", "Raúl Sánchez"):
        create_case({"interested_name": name}, actor=None, now=clock.now())
    db.session.commit()
    response = client.get("/espai/expedients/export.csv", headers=BROWSER)
    assert response.status_code == 200
    assert response.is_streamed
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" not in vary(response)
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == list(queries.CSV_HEADERS)
    assert len(rows) == 3


@pytest.mark.parametrize("app_config", [{"COMPRESS": False}])
def test_off_when_a_proxy_compresses(client):
    make_world()
    url = static_url(client, HTMX_FILE)
    response = fetch(client, url, **BROWSER)
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" not in vary(response)
    assert response.get_data() == (STATIC / HTMX_FILE).read_bytes()
