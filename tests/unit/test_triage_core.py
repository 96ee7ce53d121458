"""The triage models (umic.core.triage) on small hand-made sets: classifiers and their
weights, the evaluation, similar cases, usual documents, and storing the models."""

from __future__ import annotations

import lzma
import pickle

import pytest

from umic.core import triage
from umic.core.triage import CORRECTION_WEIGHT
from umic.core.triage import CaseDocuments
from umic.core.triage import Evaluation
from umic.core.triage import Example
from umic.core.triage import IncompatibleModel
from umic.core.triage import PastCase
from umic.core.triage import SimilarIndex
from umic.core.triage import TextClassifier
from umic.core.triage import TrainingSet
from umic.core.triage import UsualDocument

ASKING = [
    "Voldria saber quins drets tinc si em pugen la tarifa",
    "Quiero saber qué plazo tengo para devolver un producto",
    "Em podeu informar de com funciona la garantia?",
    "Tengo una duda sobre el derecho de desistimiento",
    "Quin termini hi ha per reclamar una factura?",
    "Me gustaría saber si pueden cobrarme la permanencia",
    "Consulta: puc donar-me de baixa quan vulgui?",
    "Necessito informació sobre els meus drets com a consumidor",
]
CLAIMING = [
    "Vull que em tornin els diners de la compra",
    "Exijo la devolución del importe cobrado de más",
    "Reclamo que m'anul·lin el càrrec duplicat",
    "Quiero que me reparen la lavadora o me la cambien",
    "Demano el reemborsament del vol cancel·lat",
    "Que me devuelvan el dinero de la factura errónea",
    "Vull que m'abonin la factura que no em correspon",
    "Pido que anulen el contrato y me devuelvan lo pagado",
]


def _examples(times: int = 3) -> list[Example]:
    found = []
    for round_ in range(times):
        found += [Example(f"{text} {round_}", "consulta") for text in ASKING]
        found += [Example(f"{text} {round_}", "reclamacio") for text in CLAIMING]
    return found


def test_a_classifier_proposes_the_likely_label_with_a_probability():
    model = TextClassifier.fit(_examples())
    assert model.labels == ("consulta", "reclamacio")
    guesses = model.predict(["vull saber quins drets tinc", "que em tornin els diners"])
    assert [g.label for g in guesses] == ["consulta", "reclamacio"]
    assert all(0.5 < g.confidence <= 1.0 for g in guesses)
    assert model.predict([]) == []


def test_typos_and_the_other_language_share_features():
    model = TextClassifier.fit(_examples())
    # Typos and Spanish forms of words only seen in Catalan (and the other way round).
    guesses = model.predict(["quiro saver mis drechos", "vull la devolucio dels dinés"])
    assert [g.label for g in guesses] == ["consulta", "reclamacio"]


def test_a_correction_changes_the_prediction_of_its_text_at_the_next_fit():
    text = "Tinc un problema amb la factura de la llum del mes passat"
    before = _examples() + [Example(text, "consulta")]
    assert TextClassifier.fit(before).predict([text])[0].label == "consulta"
    # The technician corrected that case: its label changes and it weighs more.
    after = _examples() + [Example(text, "reclamacio", CORRECTION_WEIGHT)]
    assert TextClassifier.fit(after).predict([text])[0].label == "reclamacio"


def test_weights_are_honoured():
    text = "Tinc un problema amb la factura de la llum del mes passat"
    twice = [Example(text, "consulta"), Example(text, "consulta")]
    light = TextClassifier.fit(_examples() + twice + [Example(text, "reclamacio")])
    heavy = TextClassifier.fit(
        _examples() + twice + [Example(text, "reclamacio", CORRECTION_WEIGHT)]
    )
    assert light.predict([text])[0].label == "consulta"
    assert heavy.predict([text])[0].label == "reclamacio"


def test_labels_with_fewer_than_three_examples_are_dropped():
    examples = _examples() + [Example("Denuncio que no tenen fulls de reclamació", "denuncia")] * 2
    model = TextClassifier.fit(examples)
    assert model.labels == ("consulta", "reclamacio")
    assert model.dropped == ("denuncia",)
    evaluation = triage.evaluate(examples)
    assert evaluation.dropped == ("denuncia",)
    assert evaluation.examples == len(examples) - 2


def test_one_label_is_not_enough():
    with pytest.raises(ValueError, match="two labels"):
        TextClassifier.fit([Example(text, "consulta") for text in ASKING])


def test_cross_validation_scores_every_example_once():
    examples = _examples()
    evaluation = triage.evaluate(examples)
    assert evaluation.method == "cross-validation"
    assert evaluation.folds == 5
    assert evaluation.examples == evaluation.evaluated == len(examples)
    assert 0.0 <= evaluation.accuracy <= 1.0
    assert [c.label for c in evaluation.classes] == ["consulta", "reclamacio"]
    assert sum(c.support for c in evaluation.classes) == len(examples)
    assert all(0.0 <= c.precision <= 1.0 and 0.0 <= c.recall <= 1.0 for c in evaluation.classes)


def test_weights_do_not_count_in_the_scores():
    examples = [
        Example(e.text, e.label, CORRECTION_WEIGHT if i % 2 else 1.0)
        for i, e in enumerate(_examples())
    ]
    evaluation = triage.evaluate(examples)
    assert evaluation.evaluated == len(examples)
    assert sum(c.support for c in evaluation.classes) == len(examples)


def test_fewer_folds_when_the_rarest_class_is_small():
    examples = _examples() + [
        Example(f"Denuncio que no exposen els preus {i}", "denuncia") for i in range(3)
    ]
    evaluation = triage.evaluate(examples)
    assert (evaluation.method, evaluation.folds) == ("cross-validation", 3)
    assert "denuncia" in [c.label for c in evaluation.classes]


def test_a_held_out_split_above_the_limit():
    examples = _examples(5)  # 80
    evaluation = triage.evaluate(examples, cross_validation_limit=50)
    assert (evaluation.method, evaluation.folds) == ("held-out", 0)
    assert evaluation.examples == 80
    assert evaluation.evaluated == 16  # 20 %, stratified
    assert [c.support for c in evaluation.classes] == [8, 8]


def test_two_fields_can_share_one_held_out_split():
    examples = _examples(5)
    sectors = [Example(e.text, "TELECOM" if i % 2 else "TRANSPORT") for i, e in enumerate(examples)]
    strata = [f"{a.label}|{b.label}" for a, b in zip(examples, sectors, strict=True)]
    cache = triage._LastVectors()
    first = triage.evaluate(examples, cross_validation_limit=50, strata=strata, cache=cache)
    key = cache._key
    second = triage.evaluate(sectors, cross_validation_limit=50, strata=strata, cache=cache)
    assert cache._key == key  # the same training texts: read once
    assert first.evaluated == second.evaluated == 16


def test_an_evaluation_survives_json():
    evaluation = triage.evaluate(_examples() + [Example("sola", "rara")])
    assert Evaluation.from_dict(evaluation.to_dict()) == evaluation


def test_train_fits_each_field_with_enough_examples():
    past = [PastCase(i, e.text, None) for i, e in enumerate(_examples(1))]
    data = TrainingSet(
        case_type=_examples(),
        sector=[Example(text, "TELECOM") for text in ASKING],  # 8 examples, one label
        past=past,
        documents=[],
    )
    models = triage.train(data, min_examples=30)
    assert models.case_type is not None and models.case_type_eval is not None
    assert models.case_type_eval.examples == 48
    assert models.sector is None and models.sector_eval is None
    assert models.similar is not None and models.similar.size == 16
    assert models.library == triage.LIBRARY
    too_few = triage.train(data, min_examples=49)
    assert too_few.case_type is None and too_few.case_type_eval is None
    assert triage.train(TrainingSet([], [], [], [])).similar is None


# --- Similar cases --------------------------------------------------------------------------

PAST = [
    PastCase(1, "Vodafone em cobra la permanència després de donar-me de baixa", 10),
    PastCase(2, "Em cobren la permanència de la fibra després de la baixa", 20),
    PastCase(3, "El vol de Vueling es va cancel·lar i no em tornen el bitllet", 30),
    PastCase(4, "La factura de la llum és massa alta aquest mes", 40),
    PastCase(5, "Cobren la permanència", 20),
    PastCase(6, "", None),
]


def test_the_most_similar_cases_come_first_with_scores_in_0_1():
    index = SimilarIndex.build(PAST)
    assert index.size == 6
    found = index.nearest("m'han cobrat la permanència després de la baixa", None, k=3)
    assert [case_id for case_id, _ in found][:2] == [2, 1]
    assert all(0.0 < score <= 1.0 for _, score in found)
    assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)
    assert 3 not in [case_id for case_id, _ in found]  # no word in common


def test_the_same_company_moves_a_case_up_but_not_above_a_much_closer_text():
    index = SimilarIndex.build(PAST)
    text = "em cobren la permanència després de la baixa de la fibra"
    plain = index.nearest(text, None)
    assert [case_id for case_id, _ in plain][:3] == [2, 5, 1]
    boosted = index.nearest(text, 10)
    # Case 1 (company 10) was a little less close than case 5: it moves above it; case 2
    # is much closer and stays first.
    assert [case_id for case_id, _ in boosted][:3] == [2, 1, 5]
    assert dict(boosted)[1] == pytest.approx(dict(plain)[1] + triage.COMPANY_BONUS)
    assert all(0.0 <= score <= 1.0 for _, score in boosted)


def test_excluded_cases_and_empty_texts():
    index = SimilarIndex.build(PAST)
    found = index.nearest("cobren la permanència de la fibra", None, exclude={2, 99})
    assert 2 not in [case_id for case_id, _ in found]
    assert index.nearest("", 10) == []
    assert index.nearest("   ", None) == []
    assert index.nearest("xyzzy", None) == []  # no known word
    assert index.nearest("permanència", None, k=1)[0][0] in {1, 2, 5}
    assert SimilarIndex.build([PastCase(1, "", None)]).nearest("fibra", None) == []


# --- Usual documents ------------------------------------------------------------------------


def _cases(case_type, sector, count, *categories):
    return [CaseDocuments(case_type, sector, frozenset(categories))] * count


def test_usual_documents_learnt_from_cases_of_the_same_type_and_sector():
    habits = triage.DocumentHabits.build(
        _cases("reclamacio", "TELECOM", 3, "factura", "contracte", "altres")
        + _cases("reclamacio", "TELECOM", 2, "factura", "dni")
        + _cases("reclamacio", "TRANSPORT", 10, "dni")
    )
    assert habits.usual("reclamacio", "TELECOM") == [
        UsualDocument("factura", 5, 5),
        UsualDocument("contracte", 3, 5),
        # dni is in 2 of 5 cases: 40 %, usual; "altres" is never proposed
        UsualDocument("dni", 2, 5),
    ]


def test_usual_documents_fall_back_to_the_case_type_then_the_baseline():
    habits = triage.DocumentHabits.build(
        _cases("reclamacio", "TELECOM", 4, "factura")
        + _cases("reclamacio", "TRANSPORT", 2, "dni")
        + _cases("queixa", "TELECOM", 3, "correspondencia")
    )
    # 4 TELECOM claims are too few: all 6 claims; factura in 4 of 6, dni in 2 of 6 (33 %).
    assert habits.usual("reclamacio", "TELECOM") == [UsualDocument("factura", 4, 6)]
    # 3 complaints are too few even together: the baseline, 0 of 0.
    assert habits.usual("queixa", "TELECOM") == [
        UsualDocument(category, 0, 0) for category in triage.BASELINE["queixa"]
    ]
    assert habits.usual("consulta", "TELECOM") == []
    assert [d.category for d in triage.DocumentHabits.build([]).usual("mediacio", "X")] == list(
        triage.BASELINE["mediacio"]
    )
    assert habits.usual("desconegut", "X") == []


# --- Storage --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models():
    data = TrainingSet(
        case_type=_examples(2),
        sector=[
            Example(e.text, "TELECOM" if i % 2 else "TRANSPORT") for i, e in enumerate(_examples(2))
        ],
        past=PAST,
        documents=_cases("reclamacio", "TELECOM", 5, "factura"),
    )
    return triage.train(data, min_examples=10)


def test_models_round_trip_through_bytes(models):
    blob = triage.dumps(models)
    assert blob.startswith(b"UMIC-TRIAGE 1\n" + triage.LIBRARY.encode() + b"\n")
    again = triage.loads(blob)
    text = "vull saber els meus drets"
    assert again.case_type.predict([text]) == models.case_type.predict([text])
    assert again.case_type_eval == models.case_type_eval
    assert again.similar.nearest("permanència", 20) == models.similar.nearest("permanència", 20)
    assert again.documents.usual("reclamacio", "TELECOM") == [UsualDocument("factura", 5, 5)]


def test_models_of_another_library_or_damaged_bytes_are_refused(models):
    blob = triage.dumps(models)
    other = blob.replace(triage.LIBRARY.encode(), b"scikit-learn 0.1", 1)
    with pytest.raises(IncompatibleModel, match="scikit-learn 0.1"):
        triage.loads(other)
    with pytest.raises(IncompatibleModel):
        triage.loads(blob[: len(blob) // 2])
    with pytest.raises(IncompatibleModel):
        triage.loads(b"not a model")
    with pytest.raises(IncompatibleModel):
        triage.loads(blob[:-40] + bytes(40))
    header = blob[: blob.index(b"\n", 14) + 1]
    with pytest.raises(IncompatibleModel, match="not triage models"):
        triage.loads(header + lzma.compress(pickle.dumps({"not": "models"})))
