"""The rules behind the tracker users' habits: history values as people write them
(umic.casefiles.display), names in Catalan order (umic.core.text.sort_key), and the case
list's choice of columns (umic.casefiles.queries.parse_columns). No database: a bare Flask
app with Babel gives the helpers a locale."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from flask import Flask
from flask_babel import Babel

from umic.casefiles import display
from umic.casefiles.queries import COLUMN_KEYS
from umic.casefiles.queries import DEFAULT_COLUMNS
from umic.casefiles.queries import parse_columns
from umic.casefiles.queries import stored_columns
from umic.core.text import sort_key


@pytest.fixture
def in_locale():
    """A request context in a chosen language, as the app's pages have."""
    app = Flask("display-test")
    app.config.update(TIMEZONE="Europe/Madrid", BABEL_DEFAULT_LOCALE="ca")
    chosen = {"locale": "ca"}
    Babel(app, locale_selector=lambda: chosen["locale"])

    def enter(locale: str):
        chosen["locale"] = locale
        return app.test_request_context("/")

    return enter


@pytest.mark.parametrize(
    ("locale", "field", "stored", "shown"),
    [
        ("ca", "amount_claimed", "245.50", "245,50 €"),
        ("es", "amount_recovered", "1234.00", "1.234,00 €"),
        ("en", "amount_claimed", "245.50", "€245.50"),
        ("ca", "deadline", "2026-12-18", "18/12/2026"),
        ("es", "deadline", "2026-12-18", "18/12/2026"),
        ("en", "deadline", "2026-12-18", "12/18/2026"),
        # Moments are stored in UTC and shown in Madrid time (winter: UTC+1).
        ("ca", "requested_at", "2025-01-10T22:30:05+00:00", "10/01/2025 23:30"),
        ("ca", "updated_at", "2025-05-16", "16/05/2025"),
        ("ca", "status", "en_tramit", "En tràmit"),
        ("ca", "outcome", "", "(buit)"),
        ("ca", "company", "", "(buit)"),
        ("ca", "interested_name", "Joan", "Joan"),
        # Written before the rule, or not parseable: as recorded, never an error.
        ("ca", "amount_claimed", "245,50", "245,50"),
        ("ca", "requested_at", "15/05/2025 16:48:06", "15/05/2025 16:48:06"),
        ("ca", "deadline", "2026-02-30", "2026-02-30"),
    ],
)
def test_history_values_are_written_as_people_write_them_l6(
    in_locale, locale, field, stored, shown
):
    """L6: "Import reclamat: (buit) → 245.50" and "Termini: (buit) → 2026-12-18" read as
    machine output; stored values stay machine-readable and are formatted when shown."""
    with in_locale(locale):
        assert display.history_value(field, stored).replace("\xa0", " ") == shown


def test_a_day_only_moment_is_shown_as_a_day_l6(in_locale):
    """L6: an imported "Data actualització 16/05/2025" was shown "… 00:00"."""
    midnight = datetime(2025, 5, 15, 22, 0, tzinfo=UTC)  # 16/05/2025 00:00 in Madrid
    with in_locale("ca"):
        assert not display.has_time(midnight)
        assert display.moment_text(midnight) == "16/05/2025"
        assert display.has_time(datetime(2025, 5, 16, 8, 12, 13, tzinfo=UTC))
        assert display.moment_text(datetime(2025, 5, 16, 8, 12, tzinfo=UTC)) == "16/05/2025 10:12"


def test_towns_sort_as_catalan_does_l4():
    """L4: a plain sort put "Òdena" after "Vilanova del Camí" and "Avià" after "Avinyó"."""
    towns = [
        "Vilanova del Camí",
        "Òdena",
        "Cubelles",
        "Cànoves i Samalús",
        "Avinyó",
        "Avià",
        "Argentona",
        "Argençola",
        "l'Ametlla del Vallès",
        "La Garriga",
        "Canovelles",
    ]
    assert sorted(towns) != sorted(towns, key=sort_key)
    assert sorted(towns, key=sort_key) == [
        "Argençola",
        "Argentona",
        "Avià",
        "Avinyó",
        "Canovelles",
        "Cànoves i Samalús",
        "Cubelles",
        "l'Ametlla del Vallès",
        "La Garriga",
        "Òdena",
        "Vilanova del Camí",
    ]


def test_the_case_list_columns_chosen_are_kept_in_order_with_the_number_m2():
    """M2: the default set is narrow; a choice keeps the page's order and the case number."""
    assert len(DEFAULT_COLUMNS) < len(COLUMN_KEYS) == 20  # the company joined the columns
    assert "termini" in DEFAULT_COLUMNS and "interessat" in DEFAULT_COLUMNS
    assert parse_columns(None) == parse_columns("") == DEFAULT_COLUMNS
    assert parse_columns(["organic", "id", "nonsense"]) == ("id", "expedient", "organic")
    assert parse_columns("id_anterior,termini") == ("id_anterior", "expedient", "termini")
    assert parse_columns(["nonsense"]) == DEFAULT_COLUMNS
    assert stored_columns(DEFAULT_COLUMNS) is None
    assert stored_columns(["organic"]) == "expedient,organic"
    assert len(stored_columns(COLUMN_KEYS)) <= 400  # fits staff_user.case_list_columns
