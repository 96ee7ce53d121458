"""Staff sessions that end (issue 10, item 3; security review findings 2, 9, 13 and 16).

Two test clients stand for two browsers: one copies the other's cookie, as a thief would.
Time moves with the app's clock (``umic.clock``), never with sleeps.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func
from sqlalchemy import select

from support.factories import PASSWORD
from support.factories import make_staff
from support.htmlutil import csrf_token
from support.htmlutil import error_messages
from support.htmlutil import soup
from support.htmlutil import summary_links
from support.queries import counted_queries
from umic import clock
from umic import create_app
from umic.config import Config
from umic.core.sessions import EndReason
from umic.extensions import db
from umic.models import SignInAttempt
from umic.models import StaffSession
from umic.models import StaffUser
from umic.web import auth

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
OFFICE = "10.1.2.3"


def browser(app, agent: str = FIREFOX, address: str = OFFICE):
    """A test client that sends one User-Agent from one address, like a browser."""
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    return client


def sign_in(client, username: str = "OPSSVEGAVN", password: str = PASSWORD, **kwargs):
    page = client.get("/entra", **kwargs).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": username, "password": password}
    return client.post("/entra", data=data, **kwargs)


def copy_cookie(source, target) -> None:
    """What a thief does with a saved cookie: send it from another client."""
    target.set_cookie("session", source.get_cookie("session").value)


def goes_to_sign_in(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/entra"


def post_from(client, url: str, page_url: str = "/espai/compte", **data):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def rows() -> list[StaffSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffSession).order_by(StaffSession.id)))


# --- Sign-out ends the session on the server --------------------------------------------------


def test_a_saved_cookie_replayed_after_sign_out_gets_the_sign_in_page(app):
    make_staff("OPSSVEGAVN")
    owner, thief = browser(app), browser(app)
    assert sign_in(owner).status_code == 303
    copy_cookie(owner, thief)
    assert thief.get("/espai/").status_code == 200, "the copy works while the session lives"

    page = owner.get("/espai/").get_data(as_text=True)
    assert owner.post("/surt", data={"csrf_token": csrf_token(page)}).status_code == 303

    assert goes_to_sign_in(thief.get("/espai/"))
    assert goes_to_sign_in(owner.get("/espai/"))
    [row] = rows()
    assert row.ended_at is not None and row.end_reason == EndReason.SIGNED_OUT


def test_the_cookie_carries_a_random_id_and_the_database_only_its_hash(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app)
    sign_in(owner)
    with owner.session_transaction() as cookie:
        token = cookie[auth.SESSION_KEY]
        assert not cookie.permanent, "a permanent session turns 'strong' protection off"
    assert len(token) >= 32  # 192 bits, URL-safe base64
    [row] = rows()
    assert row.token_hash != token and len(row.token_hash) == 64
    assert (row.browser, row.network) == ("Firefox, Windows", "10.1.2.0/24")


def test_form_tokens_die_with_the_session(app):
    """A staff form token is honoured only with a live session (review, finding 16)."""
    make_staff("OPSSVEGAVN")
    owner, thief = browser(app), browser(app)
    sign_in(owner)
    old_token = csrf_token(owner.get("/espai/compte").get_data(as_text=True))
    copy_cookie(owner, thief)  # with the form token in it
    owner.post("/surt", data={"csrf_token": old_token})

    # The copy still carries the old token: the action is refused all the same.
    refused = thief.post("/espai/compte/sessions/tanca-les-altres", data={"csrf_token": old_token})
    assert goes_to_sign_in(refused)
    # In the owner's browser the token went with the session: the sign-in form wants a new one.
    data = {"csrf_token": old_token, "username": "OPSSVEGAVN", "password": PASSWORD}
    assert owner.post("/entra", data=data).status_code == 400


# --- Idle and absolute limits ----------------------------------------------------------------


def test_a_busy_session_still_ends_at_its_absolute_lifetime(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app)
    clock.freeze()
    sign_in(owner)
    hours = app.config["STAFF_SESSION_MAX_HOURS"]
    used = timedelta(0)
    while used + timedelta(minutes=50) < timedelta(hours=hours):
        clock.advance(timedelta(minutes=50))  # never idle for long
        used += timedelta(minutes=50)
        assert owner.get("/espai/").status_code == 200, used
    clock.advance(timedelta(hours=hours) - used + timedelta(seconds=1))
    response = owner.get("/espai/")
    assert goes_to_sign_in(response)
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert f"La sessió ha durat {hours} hores" in soup(page).get_text()
    assert rows()[0].end_reason == EndReason.EXPIRED


def test_an_idle_session_ends_on_the_server(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app)
    clock.freeze()
    sign_in(owner)
    clock.advance(timedelta(minutes=app.config["STAFF_IDLE_MINUTES"], seconds=1))
    response = owner.get("/espai/")
    assert goes_to_sign_in(response)
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "La sessió s'ha tancat per inactivitat" in soup(page).get_text()
    assert rows()[0].end_reason == EndReason.IDLE


def test_last_use_is_written_at_most_once_a_minute(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app)
    clock.freeze()
    sign_in(owner)
    with counted_queries(("UPDATE",)) as writes:
        for _ in range(5):
            clock.advance(timedelta(seconds=10))
            assert owner.get("/espai/").status_code == 200
    assert not [w for w in writes if "staff_session" in w]
    clock.advance(timedelta(seconds=15))  # 65 s since the last write
    with counted_queries(("UPDATE",)) as writes:
        owner.get("/espai/")
    assert len([w for w in writes if "staff_session" in w]) == 1
    assert rows()[0].last_seen_at == clock.now()


# --- Another browser -----------------------------------------------------------------------------


def test_a_cookie_from_another_browser_ends_the_session_and_its_owner_is_told(app, caplog):
    user = make_staff("OPSSVEGAVN", name="Vega Navarro")
    owner, thief = browser(app, FIREFOX), browser(app, CHROME)
    sign_in(owner)
    copy_cookie(owner, thief)
    with caplog.at_level(logging.WARNING, logger="umic.web.auth"):
        assert goes_to_sign_in(thief.get("/espai/"))
    [row] = rows()
    assert row.end_reason == EndReason.OTHER_BROWSER
    [record] = [r for r in caplog.records if r.name == "umic.web.auth"]
    assert f"user {user.id}" in record.getMessage()
    assert "OPSSVEGAVN" not in record.getMessage() and "Vega" not in record.getMessage()

    # The owner's own browser is signed out too, and told at the next sign-in, once.
    assert goes_to_sign_in(owner.get("/espai/"))
    landing = sign_in(owner)
    page = soup(owner.get(landing.headers["Location"]).get_data(as_text=True)).get_text()
    assert "es va fer servir des d'un altre navegador" in page
    assert "altre navegador" not in owner.get("/espai/").get_data(as_text=True)
    assert "altre navegador" not in sign_in(browser(app)).get_data(as_text=True)


def test_a_cookie_from_another_network_ends_the_session_too(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app, address="10.1.2.3")
    sign_in(owner)
    thief = browser(app, address="203.0.113.9")  # the same browser's User-Agent, copied
    copy_cookie(owner, thief)
    assert goes_to_sign_in(thief.get("/espai/"))
    assert rows()[0].end_reason == EndReason.OTHER_NETWORK
    assert goes_to_sign_in(owner.get("/espai/"))


def test_an_ipv6_client_keeps_its_session_when_its_address_changes_within_its_64(app):
    make_staff("OPSSVEGAVN")
    owner = browser(app, address="2001:db8:1:2::10")
    sign_in(owner)
    owner.environ_base["REMOTE_ADDR"] = "2001:db8:1:2:abcd::99"  # a privacy address rotated
    assert owner.get("/espai/").status_code == 200


# --- My account ---------------------------------------------------------------------------------


def test_the_staff_menu_links_my_account_and_it_lists_my_open_sessions(app):
    make_staff("OPSSVEGAVN")
    make_staff("OPSSALTRE")
    office, home = browser(app, FIREFOX), browser(app, CHROME, "192.0.2.44")
    sign_in(office)
    sign_in(home)
    sign_in(browser(app), "OPSSALTRE")  # someone else's: never listed
    page = soup(office.get("/espai/").get_data(as_text=True))
    assert page.select_one("nav.staff-nav a[href='/espai/compte']").get_text() == "El meu compte"
    html = office.get("/espai/compte").get_data(as_text=True)
    table = soup(html).select("tbody tr")
    assert len(table) == 2
    assert "Firefox, Windows" in table[0].get_text() and "aquesta sessió" in table[0].get_text()
    assert "Chrome, Linux" in table[1].get_text() and "192.0.2.0/24" in table[1].get_text()


def test_ending_one_of_my_other_sessions_signs_that_browser_out(app):
    make_staff("OPSSVEGAVN")
    office, home = browser(app, FIREFOX), browser(app, CHROME)
    sign_in(office)
    sign_in(home)
    other = next(r for r in rows() if r.browser.startswith("Chrome"))
    response = post_from(office, f"/espai/compte/sessions/{other.id}/tanca")
    assert response.status_code == 303
    assert goes_to_sign_in(home.get("/espai/"))
    assert office.get("/espai/").status_code == 200


def test_i_cannot_end_someone_elses_session(app):
    make_staff("OPSSVEGAVN")
    make_staff("OPSSALTRE")
    mine, theirs = browser(app), browser(app, CHROME)
    sign_in(mine)
    sign_in(theirs, "OPSSALTRE")
    their_row = next(r for r in rows() if r.browser.startswith("Chrome"))
    assert post_from(mine, f"/espai/compte/sessions/{their_row.id}/tanca").status_code == 404
    assert theirs.get("/espai/").status_code == 200


def test_ending_all_my_other_sessions_keeps_this_one(app):
    make_staff("OPSSVEGAVN")
    office, home, phone = browser(app), browser(app, CHROME), browser(app, CHROME, "192.0.2.1")
    for client in (office, home, phone):
        sign_in(client)
    assert post_from(office, "/espai/compte/sessions/tanca-les-altres").status_code == 303
    assert goes_to_sign_in(home.get("/espai/")) and goes_to_sign_in(phone.get("/espai/"))
    assert office.get("/espai/").status_code == 200


def change_password(client, current=PASSWORD, new="una frase prou llarga", repeat=None):
    return post_from(
        client,
        "/espai/compte",
        current=current,
        new=new,
        repeat=new if repeat is None else repeat,
    )


def test_changing_my_password_signs_out_my_other_sessions(app):
    user = make_staff("OPSSVEGAVN")
    first, second = browser(app), browser(app, CHROME)
    sign_in(first)
    sign_in(second)
    response = change_password(first)
    assert response.status_code == 303
    assert goes_to_sign_in(second.get("/espai/"))
    page = first.get("/espai/compte").get_data(as_text=True)
    assert "Heu canviat la contrasenya" in page
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).check_password("una frase prou llarga")
    assert sign_in(browser(app), password=PASSWORD).status_code == 200, "the old one is gone"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"current": "no és aquesta"}, "current", "La contrasenya actual no és correcta"),
        ({"new": "curta"}, "new", "com a mínim 12 caràcters"),
        ({"new": "dotze lletre"}, None, None),  # 12 characters: accepted
        ({"new": "OPSSVEGAVN"}, "new", "com a mínim 12"),
        ({"new": "opssvegavn"}, "new", "com a mínim 12"),
        ({"repeat": "una altra frase llarga"}, "repeat", "no coincideixen"),
        ({"current": ""}, "current", "Escriviu la contrasenya actual"),
    ],
)
def test_a_refused_new_password_shows_why_beside_the_field_and_in_the_summary(
    app, fields, field, message
):
    make_staff("OPSSVEGAVN")
    client = browser(app)
    sign_in(client)
    response = change_password(client, **fields)
    if field is None:
        assert response.status_code == 303
        return
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert soup(html).title.get_text().startswith("Error: ")
    assert any(message in text for text in error_messages(html))
    assert any(href == f"#{field}" and message in text for href, text in summary_links(html))
    assert soup(html).select_one(f"#{field}")["aria-invalid"] == "true"


def test_the_new_password_may_not_be_the_user_name(app):
    make_staff("OPSSVEGAVN12")  # a code of 12 characters
    client = browser(app)
    sign_in(client, "OPSSVEGAVN12")
    html = change_password(client, new="opssvegavn12").get_data(as_text=True)
    assert any("no pot ser el vostre codi d'usuari" in text for text in error_messages(html))


def test_my_account_needs_a_form_token(app):
    make_staff("OPSSVEGAVN")
    client = browser(app)
    sign_in(client)
    data = {"current": PASSWORD, "new": "una frase prou llarga", "repeat": "una frase prou llarga"}
    assert client.post("/espai/compte", data=data).status_code == 400


# --- Sign-in throttling: the attacker, not the victim ------------------------------------------


def fail(app, username: str, address: str, times: int = 1) -> list[int]:
    client = browser(app, address=address)
    return [sign_in(client, username, "no és aquesta").status_code for _ in range(times)]


def test_the_attackers_address_is_throttled_and_the_owner_elsewhere_signs_in(app):
    make_staff("OPSSVEGAVN")
    limit = app.config["SIGN_IN_MAX_FAILURES"]
    assert fail(app, "OPSSVEGAVN", "203.0.113.9", limit) == [200] * limit
    # From the attacker's address even the right password is not looked at.
    attacker = browser(app, address="203.0.113.9")
    assert sign_in(attacker).status_code == 429
    # The owner, from the office, with the right password: in.
    assert sign_in(browser(app, address=OFFICE)).status_code == 303


def test_an_attack_from_many_addresses_slows_each_down_but_never_locks_the_owner(app):
    make_staff("OPSSVEGAVN")
    limit = app.config["SIGN_IN_MAX_FAILURES"]
    botnet = [f"198.51.100.{n}" for n in range(1, 4 * limit)]
    for address in botnet:
        fail(app, "OPSSVEGAVN", address)
    # The name is under attack: an address that has failed for it gets no second guess...
    assert sign_in(browser(app, address=botnet[0]), password="una altra").status_code == 429
    # ...and the owner, from an address that has not been failing, still signs in.
    assert sign_in(browser(app, address=OFFICE)).status_code == 303


def test_an_address_that_tries_many_names_is_throttled(app):
    limit = app.config["SIGN_IN_MAX_FAILURES"]
    for number in range(limit * 4):
        fail(app, f"OPSSNOM{number}", "203.0.113.9")
    assert fail(app, "OPSSALTRE", "203.0.113.9") == [429]


def test_unknown_names_are_answered_exactly_like_known_ones(app):
    make_staff("OPSSVEGAVN")
    limit = app.config["SIGN_IN_MAX_FAILURES"]
    known = fail(app, "OPSSVEGAVN", "203.0.113.1", limit + 1)
    unknown = fail(app, "OPSSNINGU", "203.0.113.2", limit + 1)
    assert known == unknown == [200] * limit + [429]
    recorded = db.session.execute(
        select(SignInAttempt.username, func.count()).group_by(SignInAttempt.username)
    ).all()
    assert dict(recorded) == {"OPSSVEGAVN": limit, "OPSSNINGU": limit}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unknown_name_costs_a_password_check_too(app, real_password_hashes, monkeypatch):
    """The hasher dominates a sign-in's time: if unknown names skipped it they would answer
    many times faster. Rather than timing (flaky on a busy machine), record what the real
    checker is asked to verify: one hash per try, made with the same method and cost."""
    make_staff("OPSSVEGAVN")
    client = browser(app)
    page = client.get("/entra").get_data(as_text=True)
    checked: list[str] = []
    real_check = auth.check_password_hash

    def recording_check(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])  # the method and its cost, e.g. scrypt:32768:8:1
        return real_check(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", recording_check)
    app.config["SIGN_IN_MAX_FAILURES"] = 100

    def try_name(username: str) -> list[str]:
        checked.clear()
        data = {"csrf_token": csrf_token(page), "username": username, "password": "dolenta"}
        assert client.post("/entra", data=data).status_code == 200
        return list(checked)

    known = try_name("OPSSVEGAVN")
    assert len(known) == 1 and known[0].startswith("scrypt:")
    assert try_name("OPSSNINGU1") == known
    assert try_name("opssningu2") == known


def test_a_disabled_account_is_refused_with_the_same_answer(app):
    user = make_staff("OPSSVEGAVN")
    client = browser(app)
    sign_in(client)
    user.active = False
    db.session.commit()
    assert goes_to_sign_in(client.get("/espai/"))
    assert rows()[0].end_reason == EndReason.ACCOUNT_DISABLED
    response = sign_in(browser(app))
    assert response.status_code == 200
    assert "no són correctes" in response.get_data(as_text=True)


# --- Production secret key ----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "refused"), [("x", True), ("k" * 31, True), ("k" * 32, False)])
def test_production_needs_a_secret_key_of_32_bytes(monkeypatch, tmp_path, key, refused):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("UMIC_SECRET_KEY", key)
    overrides = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}
    if refused:
        with pytest.raises(RuntimeError, match="at least 32 bytes"):
            create_app(Config, overrides=overrides)
    else:
        assert create_app(Config, overrides=overrides).secret_key == key


def test_debug_and_testing_skip_the_key_check(monkeypatch, tmp_path):
    monkeypatch.setenv("UMIC_SECRET_KEY", "x")
    overrides = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "TESTING": True}
    assert create_app(Config, overrides=overrides).testing


# --- The command line ----------------------------------------------------------------------------


def test_users_create_needs_12_characters(app, runner):
    args = ["users", "create", "opssnou", "--email", "nou@example.org", "--password"]
    short = runner.invoke(args=[*args, "onze lletre"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert runner.invoke(args=[*args, "dotze lletre"]).exit_code == 0


def test_users_set_password_ends_every_session(app, runner):
    make_staff("OPSSVEGAVN")
    client = browser(app)
    sign_in(client)
    result = runner.invoke(args=["users", "set-password", "opssvegavn", "--password", "OPSSVEGAVN"])
    assert result.exit_code != 0
    assert client.get("/espai/").status_code == 200
    result = runner.invoke(
        args=["users", "set-password", "opssvegavn", "--password", "una frase prou llarga"]
    )
    assert result.exit_code == 0, result.output
    assert goes_to_sign_in(client.get("/espai/"))
    assert rows()[0].end_reason == EndReason.PASSWORD_CHANGED


def test_old_sessions_are_purged_after_30_days(app):
    make_staff("OPSSVEGAVN")
    sign_in(browser(app))
    assert auth.purge_staff_sessions(clock.now() + timedelta(days=29)) == 0
    assert auth.purge_staff_sessions(clock.now() + timedelta(days=31)) == 1


def test_ending_this_session_from_the_list_signs_out_here(app):
    make_staff("OPSSVEGAVN")
    client = browser(app)
    sign_in(client)
    [row] = rows()
    response = post_from(client, f"/espai/compte/sessions/{row.id}/tanca")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/entra"
    assert goes_to_sign_in(client.get("/espai/"))
    assert rows()[0].end_reason == EndReason.ENDED_BY_USER
