"""The demo's labelled history (issue 15): `make run` opens with trained models and fresh
suggestions. One demo load with training (the slow part: the models' cross-validation), on
SQLite; the pilot's figures are checked by tests/test_app.py on the same demo."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from umic import demo
from umic.demo.history import HISTORY_START
from umic.demo.triage import read_corpus
from umic.extensions import db
from umic.models import FINAL_STATUSES
from umic.models import CaseFile
from umic.models import StaffUser
from umic.models import TriageModel
from umic.models import TriageSuggestion


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_demo_trains_on_its_labelled_history_and_suggests_on_open_cases(app, client, login):
    demo.load(train=True)
    corpus = {row.text: row for row in read_corpus()}

    # At least 600 finished cases after the pilot, labelled from the corpus, each row once, in
    # both languages.
    after_pilot = datetime.combine(HISTORY_START, time(0), ZoneInfo("Europe/Madrid"))
    labelled = db.session.execute(
        select(CaseFile.description, CaseFile.case_type, CaseFile.sector).where(
            CaseFile.status.in_(FINAL_STATUSES), CaseFile.sector != ""
        )
    ).all()
    assert (
        db.session.scalar(
            select(func.count()).where(
                CaseFile.status.in_(FINAL_STATUSES),
                CaseFile.sector != "",
                CaseFile.requested_at >= after_pilot,
            )
        )
        >= 600
    )
    assert len({text for text, _type, _sector in labelled}) == len(labelled)
    rows = [corpus[text] for text, _type, _sector in labelled]
    assert all(
        (row.case_type, row.sector) == (case_type, sector)
        for row, (_text, case_type, sector) in zip(rows, labelled, strict=True)
    )
    languages = Counter(row.language for row in rows)
    assert languages["ca"] >= 200 and languages["es"] >= 150, languages
    assert len({channel for (channel,) in db.session.execute(select(CaseFile.channel))}) == 3

    # One model, trained at the end of the load, good enough to be shown.
    model = db.session.scalars(select(TriageModel)).one()
    assert model.status == "ready" and model.type_examples >= 600
    figures = json.loads(model.evaluation)
    minimum = app.config["TRIAGE_MIN_ACCURACY"]
    assert figures["case_type"]["accuracy"] >= minimum, figures["case_type"]["accuracy"]
    assert figures["sector"]["accuracy"] >= minimum, figures["sector"]["accuracy"]
    # The demo's past decisions: most accepted, some corrected.
    decisions = Counter(db.session.scalars(select(TriageSuggestion.decision)))
    assert decisions["accepted"] > 3 * decisions["corrected"] > 0

    # An open request of the last days, with no sector yet: its page shows suggestions.
    technician = db.session.scalar(select(StaffUser).where(StaffUser.username == "OPSSVEGAVN"))
    open_ids = db.session.scalars(
        select(CaseFile.id)
        .where(
            CaseFile.assigned_to_id == technician.id,
            CaseFile.status.in_(["pendent", "en_tramit"]),
            CaseFile.sector == "",
        )
        .order_by(CaseFile.id)
        .limit(3)
    ).all()
    assert open_ids
    login("OPSSVEGAVN", demo.DEMO_PASSWORD)
    pages = [client.get(f"/espai/expedients/{case_id}") for case_id in open_ids]
    assert all(page.status_code == 200 for page in pages)
    assert any('id="suggeriments"' in page.get_data(as_text=True) for page in pages)
