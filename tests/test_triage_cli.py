"""``flask --app umic triage train | suggest | evaluate`` (umic.triage.cli)."""

from __future__ import annotations

import json

import pytest

from support.factories import make_world
from test_triage import NEW_TEXT
from test_triage import SECTORS
from test_triage import TYPES
from test_triage import _history

KEYS = {"type", "type_confidence", "sector", "sector_confidence", "company", "company_confidence"}


@pytest.fixture
def world(app):
    return make_world(technicians=1)


def test_without_a_model_suggest_exits_1_with_a_message(runner, world):
    result = runner.invoke(args=["triage", "suggest"], input="una factura de Vodafone\n")
    assert result.exit_code == 1
    assert "no triage model" in result.stderr
    assert result.stdout == ""


def test_train_then_suggest_prints_one_json_line_per_input_line(runner, world):
    _history(world)
    result = runner.invoke(args=["triage", "train"])
    assert result.exit_code == 0, result.output
    assert "Case type: 60 examples, accuracy" in result.stdout
    assert "Sector: 60 examples" in result.stdout
    lines = [
        NEW_TEXT,
        "",
        "   ",
        f"{TYPES['consulta']} sobre {SECTORS['TRANSPORT'][1]} amb Vueling",
    ]
    result = runner.invoke(args=["triage", "suggest"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4 and all(set(row) == KEYS for row in rows)
    first, blank, spaces, last = rows
    assert (first["type"], first["sector"], first["company"]) == ("mediacio", "TELECOM", "Vodafone")
    assert 0 < first["type_confidence"] <= 1 and 0 < first["company_confidence"] <= 1
    assert set(blank.values()) == {None} and set(spaces.values()) == {None}
    assert (last["type"], last["sector"], last["company"]) == ("consulta", "TRANSPORT", "Vueling")
    assert "Vodafone" in result.stdout  # ensure_ascii=False: names as written


def test_evaluate_reports_accuracy_as_json(runner, world, tmp_path):
    _history(world)
    assert runner.invoke(args=["triage", "train"]).exit_code == 0
    path = tmp_path / "heldout.tsv"
    path.write_text(
        "text\tcase_type\tsector\tcompany\n"
        f"{NEW_TEXT}\tmediacio\tTELECOM\tVodafone\n"
        f"{TYPES['queixa']} sobre {SECTORS['TRANSPORT'][1]}\tqueixa\tTRANSPORT\t\n"
        f"{TYPES['denuncia']} sobre {SECTORS['TELECOM'][1]}\treclamacio\tTELECOM\t\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["triage", "evaluate", str(path)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["rows"] == 3
    assert figures["case_type"] == {"evaluated": 3, "correct": 2, "accuracy": round(2 / 3, 4)}
    assert figures["sector"]["accuracy"] == 1.0
    assert figures["company"]["accuracy"] == 1.0


def test_a_failed_training_exits_1(runner, world, monkeypatch):
    from umic.core import triage as core

    _history(world)
    monkeypatch.setattr(core, "train", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    result = runner.invoke(args=["triage", "train"])
    assert result.exit_code == 1
    assert "training failed" in result.stderr
