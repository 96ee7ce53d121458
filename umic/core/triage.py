"""The triage models: what kind of case a description is, its sector, similar past cases and
the documents such cases usually need. Trained on the service's own cases. No Flask, no
database: the service (umic.triage.service) turns rows into the plain values below.

**Text classifiers** (case type, sector). Citizens write short descriptions in Catalan,
Spanish or both, with typos. Every text is folded first (``umic.core.text.fold``: lower case,
no accents or punctuation), then described by two bags of features side by side:

- word unigrams and bigrams (TF-IDF, sublinear term frequency): "donar de baixa",
  "no me devuelven";
- character n-grams of 2 to 5 letters inside word boundaries (``char_wb``): "factura",
  "fatcura" and "facturas" share most of them, and so do the Catalan and Spanish forms of a
  word ("reclamació"/"reclamación" -> "reclamaci"), so typos and the two languages meet.

The vocabularies are bounded (``max_features``, ``min_df`` = 2 on larger sets) so the
model stays a few megabytes whatever the number of cases.

The estimator is a linear SVM (``LinearSVC``, liblinear) whose scores are turned into
probabilities by ``CalibratedClassifierCV`` (Platt's sigmoid fitted on 3-fold
cross-validated scores, then one SVM fitted on everything: ``ensemble=False``, so one set of
weights is stored). The suggestion's confidence is the calibrated probability of the label
proposed. It honours sample weights (a technician's correction counts ``CORRECTION_WEIGHT``
times, in the SVM and in the calibration). Chosen by measurement, 5-fold cross-validation on
the demo corpus (566 rows at the time), accuracy type / sector:

- calibrated LinearSVC, C = 0.5: 0.89 / 0.89, about 0.6 s per fold (C from 0.3 to 1 alike);
- LogisticRegression (lbfgs, C = 10): 0.86 / 0.83, 2 to 4 s per fold; with
  ``class_weight="balanced"`` 0.89 / 0.87, 4 s per fold; saga 0.90 / 0.88, slower still;
- SGDClassifier(log_loss): 0.88 / 0.86, the fastest (0.4 s per fold), poorer probabilities;
- without the character n-grams: 0.80 / 0.74; without the words: 0.83 / 0.85.

The SVM's weights are kept in single precision (half the bytes, same predictions).

Measured with ``benchmarks/triage.py`` on this 2-CPU machine: ``train`` on 100,000 cases,
evaluation included, about 3 minutes; one text through a classifier about 2 ms; a whole
suggestion (both classifiers, company, similar cases, documents) about 11 ms.

Labels with fewer than ``MIN_LABEL_EXAMPLES`` (3) examples are dropped before training: a
class seen once or twice cannot be learnt or measured (stratified folds need it in each
fold). The dropped labels are named in ``TextClassifier.dropped`` and ``Evaluation.dropped``.

**Evaluation** is always on examples the model was not trained on: stratified k-fold
cross-validation (5 folds, fewer when the rarest class has fewer examples) up to 20,000
examples; above that one stratified 20 % held-out split, which costs one fit instead of five
and is, at that size, as precise (4,000 predictions scored). Each example counts once in the
figures whatever its training weight. ``train`` evaluates first, then fits on everything.

**Similar cases** (``SimilarIndex``): TF-IDF over finished cases' texts (words), cosine
similarity. The matrix is kept column-major (CSC) so a query reads only the columns of its own
words (an inverted index) instead of multiplying the whole matrix: a few milliseconds at
100,000 cases. A case of the same company gets ``COMPANY_BONUS`` (0.1) added: it moves up
among texts about as close, but never above a text that is much closer.

**Usual documents** (``DocumentHabits``): see its docstring.

**Storage** (``dumps``/``loads``): see ``dumps``.
"""

from __future__ import annotations

import io
import lzma
import pickle
import warnings
from collections import Counter
from collections import defaultdict
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

import numpy as np
import sklearn
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from .codes import DocumentCategory
from .text import fold

#: A technician's correction counts as this many examples.
CORRECTION_WEIGHT: float = 3.0
#: The library whose pickles these are; a model trained by another version is retrained.
LIBRARY: str = f"scikit-learn {sklearn.__version__}"
#: A label needs this many examples to be learnt (and measured).
MIN_LABEL_EXAMPLES = 3
#: Up to this many examples, cross-validation; above, one held-out split.
CROSS_VALIDATION_LIMIT = 20_000
#: Folds of the cross-validation (fewer when the rarest class is smaller).
FOLDS = 5
#: Share of the examples held out above ``CROSS_VALIDATION_LIMIT``.
HELD_OUT_SHARE = 0.2
#: Added to the similarity of a past case of the same company.
COMPANY_BONUS = 0.1

# Vocabulary bounds: what keeps the pickle small and prediction fast.
_WORD_FEATURES = 60_000
_CHAR_FEATURES = 120_000
_SIMILAR_FEATURES = 200_000
#: Below this many texts every term is kept (min_df 1); above, a term must occur twice.
_SMALL_SET = 2_000
#: The SVM's inverse regularisation strength (measured on the demo corpus: 0.3-1 are alike).
_C = 0.5
_MAX_ITER = 2_000
#: Folds of the probability calibration (fewer when the rarest class is smaller).
_CALIBRATION_FOLDS = 3
_CALIBRATION = "sigmoid"  # per class: better accuracy here than "temperature" (0.90 vs 0.88)


# --- Values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A labelled text: a case's description and its case type (or sector)."""

    text: str
    label: str
    weight: float = 1.0


@dataclass(frozen=True)
class Guess:
    """A proposed label and the model's probability for it (0..1)."""

    label: str
    confidence: float


@dataclass(frozen=True)
class ClassFigures:
    """How one label fared in the evaluation."""

    label: str
    precision: float
    recall: float
    support: int  # examples of this label that were scored


@dataclass(frozen=True)
class Evaluation:
    """A model's quality measured on examples it was not trained on."""

    method: str  # "cross-validation" or "held-out"
    folds: int  # 5 (or fewer) for cross-validation, 0 for a held-out split
    examples: int  # labelled examples available (after dropping rare labels)
    evaluated: int  # predictions scored
    accuracy: float
    classes: tuple[ClassFigures, ...]
    dropped: tuple[str, ...] = ()  # labels left out: fewer than MIN_LABEL_EXAMPLES examples

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "folds": self.folds,
            "examples": self.examples,
            "evaluated": self.evaluated,
            "accuracy": self.accuracy,
            "classes": [
                {
                    "label": c.label,
                    "precision": c.precision,
                    "recall": c.recall,
                    "support": c.support,
                }
                for c in self.classes
            ],
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        return cls(
            method=str(data["method"]),
            folds=int(data["folds"]),
            examples=int(data["examples"]),
            evaluated=int(data["evaluated"]),
            accuracy=float(data["accuracy"]),
            classes=tuple(
                ClassFigures(
                    label=str(c["label"]),
                    precision=float(c["precision"]),
                    recall=float(c["recall"]),
                    support=int(c["support"]),
                )
                for c in data.get("classes", ())
            ),
            dropped=tuple(str(label) for label in data.get("dropped", ())),
        )


# --- Text classifiers -----------------------------------------------------------------------


def _usable(
    examples: Sequence[Example], minimum: int = MIN_LABEL_EXAMPLES
) -> tuple[list[Example], tuple[str, ...]]:
    """The examples whose label has at least ``minimum`` of them; the labels dropped."""
    counts = Counter(e.label for e in examples)
    dropped = tuple(sorted(label for label, n in counts.items() if n < minimum))
    kept = [e for e in examples if counts[e.label] >= minimum]
    return kept, dropped


def _features(size: int) -> FeatureUnion:
    min_df = 1 if size < _SMALL_SET else 2
    common = {"preprocessor": fold, "sublinear_tf": True, "min_df": min_df, "dtype": np.float32}
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), max_features=_WORD_FEATURES, **common)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), max_features=_CHAR_FEATURES, **common
                ),
            ),
        ]
    )


def _slim(features: FeatureUnion) -> None:
    """Drop what a fitted vectorizer keeps only for inspection: the terms it cut off
    (``stop_words_``, as large as the whole corpus's vocabulary)."""
    for _, vectorizer in features.transformer_list:
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_


def _fit_estimator(
    matrix, labels: list[str], weights: np.ndarray
) -> tuple[CalibratedClassifierCV, bool]:
    """A linear SVM with its scores calibrated into probabilities (Platt's sigmoid, fitted on
    3-fold cross-validated scores; then one SVM on everything). Also: whether it converged."""
    rarest = min(Counter(labels).values())
    estimator = CalibratedClassifierCV(
        LinearSVC(C=_C, max_iter=_MAX_ITER),
        cv=min(_CALIBRATION_FOLDS, rarest),
        ensemble=False,
        method=_CALIBRATION,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(matrix, labels, sample_weight=weights)
    # liblinear stopping at max_iter still leaves a usable model (its loss is nearly flat by
    # then): it is kept, marked as not converged, and the evaluation measures it as it is.
    # Any other warning is a real problem and goes on.
    converged = True
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            converged = False
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    # The SVM's weights in single precision: half the bytes, the same predictions to 1e-6.
    for calibrated in estimator.calibrated_classifiers_:
        calibrated.estimator.coef_ = calibrated.estimator.coef_.astype(np.float32)
    return estimator, converged


class _LastVectors:
    """The features fitted on the last list of texts, and its matrix: the case type and the
    sector are learnt from the same texts, so ``train`` reads them once for both (character
    n-grams of 100,000 texts take half a minute). One entry: the matrices are large."""

    def __init__(self) -> None:
        self._key: tuple[str, ...] | None = None
        self._value: tuple[FeatureUnion, sparse.csr_matrix] | None = None

    def get(self, texts: list[str]) -> tuple[FeatureUnion, sparse.csr_matrix]:
        key = tuple(texts)
        if self._key != key or self._value is None:
            self._key, self._value = None, None  # free the old matrix first
            features = _features(len(texts))
            matrix = features.fit_transform(texts)
            _slim(features)
            self._key, self._value = key, (features, matrix)
        return self._value


class TextClassifier:
    """A fitted classifier of short texts: ``fit`` then ``predict``."""

    labels: tuple[str, ...]
    dropped: tuple[str, ...]  # labels left out: too few examples
    examples: int  # examples learnt from
    converged: bool  # False: the solver stopped at its iteration limit (still usable)

    def __init__(
        self,
        features: FeatureUnion,
        estimator: CalibratedClassifierCV,
        dropped: tuple[str, ...],
        examples: int,
        converged: bool = True,
    ):
        self._features = features
        self._estimator = estimator
        self.labels = tuple(str(label) for label in estimator.classes_)
        self.dropped = dropped
        self.examples = examples
        self.converged = converged

    @classmethod
    def fit(
        cls,
        examples: Sequence[Example],
        *,
        seed: int = 0,
        min_label_examples: int = MIN_LABEL_EXAMPLES,
        cache: _LastVectors | None = None,
    ) -> TextClassifier:
        """Learn from ``examples`` (labels with fewer than ``min_label_examples`` dropped).
        Raises ValueError when fewer than two labels are left. The fit is deterministic;
        ``seed`` is kept for estimators that draw at random."""
        kept, dropped = _usable(examples, min_label_examples)
        if len({e.label for e in kept}) < 2:
            raise ValueError("a classifier needs at least two labels with enough examples")
        features, matrix = (cache or _LastVectors()).get([e.text for e in kept])
        weights = np.array([e.weight for e in kept], dtype=np.float64)
        estimator, converged = _fit_estimator(matrix, [e.label for e in kept], weights)
        return cls(features, estimator, dropped, len(kept), converged)

    def predict(self, texts: Sequence[str]) -> list[Guess]:
        """One Guess per text: the likeliest label and its probability."""
        if not texts:
            return []
        probabilities = self._estimator.predict_proba(self._features.transform(list(texts)))
        best = probabilities.argmax(axis=1)
        return [
            Guess(self.labels[i], float(min(1.0, max(0.0, row[i]))))
            for i, row in zip(best, probabilities, strict=True)
        ]


def evaluate(
    examples: Sequence[Example],
    *,
    seed: int = 0,
    cross_validation_limit: int = CROSS_VALIDATION_LIMIT,
    strata: Sequence[str] | None = None,
    cache: _LastVectors | None = None,
) -> Evaluation:
    """Measure a classifier trained like ``TextClassifier.fit`` on examples it did not see:
    stratified k-fold cross-validation up to ``cross_validation_limit`` examples, one
    stratified held-out split above. Raises ValueError when fewer than two labels are left."""
    kept, dropped = _usable(examples)
    labels = sorted({e.label for e in kept})
    if len(labels) < 2:
        raise ValueError("a classifier needs at least two labels with enough examples")
    y = np.array([e.label for e in kept], dtype=object)
    indices = np.arange(len(kept))
    if len(kept) <= cross_validation_limit:
        rarest = min(Counter(y.tolist()).values())
        folds = max(2, min(FOLDS, rarest))
        splits = list(
            StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(indices, y)
        )
        method = "cross-validation"
    else:
        # ``strata`` (one per example, e.g. case type and sector together) lets two fields
        # share one split, and so one reading of the texts; each must have two members.
        by = y
        if strata is not None:
            kept_strata = [s for e, s in zip(examples, strata, strict=True) if e.label in labels]
            if min(Counter(kept_strata).values()) >= 2:
                by = np.array(kept_strata, dtype=object)
        train_idx, test_idx = train_test_split(
            indices, test_size=HELD_OUT_SHARE, stratify=by, random_state=seed
        )
        splits = [(train_idx, test_idx)]
        folds = 0
        method = "held-out"
    truth: list[str] = []
    predicted: list[str] = []
    for train_idx, test_idx in splits:
        # A label kept here has 3 examples or more: at least 2 in every training part.
        model = TextClassifier.fit(
            [kept[i] for i in train_idx], seed=seed, min_label_examples=2, cache=cache
        )
        guesses = model.predict([kept[i].text for i in test_idx])
        truth += [kept[i].label for i in test_idx]
        predicted += [g.label for g in guesses]
    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    return Evaluation(
        method=method,
        folds=folds,
        examples=len(kept),
        evaluated=len(truth),
        accuracy=float(accuracy_score(truth, predicted)),
        classes=tuple(
            ClassFigures(label, float(p), float(r), int(s))
            for label, p, r, s in zip(labels, precision, recall, support, strict=True)
        ),
        dropped=dropped,
    )


# --- Similar cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class PastCase:
    """A finished case: its description (and anything else worth comparing) and company."""

    case_id: int
    text: str
    company_id: int | None


class SimilarIndex:
    """Finished cases' texts as TF-IDF vectors, searched by cosine similarity."""

    size: int

    def __init__(self, vectorizer: TfidfVectorizer | None, matrix, ids, companies):
        self._vectorizer = vectorizer
        self._matrix = matrix  # CSC, cases x terms, rows L2-normalised
        self._ids = ids  # np.int64: row -> case_id
        self._companies = companies  # np.int64: row -> company_id, -1 for none
        self._rows = {int(case_id): row for row, case_id in enumerate(ids.tolist())}
        self.size = len(ids)

    @classmethod
    def build(cls, cases: Sequence[PastCase]) -> SimilarIndex:
        ids = np.array([c.case_id for c in cases], dtype=np.int64)
        companies = np.array(
            [-1 if c.company_id is None else c.company_id for c in cases], dtype=np.int64
        )
        texts = [c.text for c in cases]
        vectorizer = TfidfVectorizer(
            preprocessor=fold,
            sublinear_tf=True,
            max_features=_SIMILAR_FEATURES,
            dtype=np.float32,
            # Words in more than half the cases ("de", "que", "la") tell nothing apart.
            max_df=0.5 if len(cases) >= 20 else 1.0,
        )
        try:
            matrix = vectorizer.fit_transform(texts).tocsc()
        except ValueError:  # no words at all (no cases, or only empty texts)
            return cls(None, sparse.csc_matrix((len(cases), 0), dtype=np.float32), ids, companies)
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_
        return cls(vectorizer, matrix, ids, companies)

    def nearest(
        self,
        text: str,
        company_id: int | None,
        *,
        k: int = 5,
        exclude: Collection[int] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` past cases most like ``text``: (case_id, score 0..1), best first. Only
        cases that share at least one word count; the same company adds COMPANY_BONUS."""
        if self._vectorizer is None or k <= 0 or not text.strip():
            return []
        query = self._vectorizer.transform([text])
        if query.nnz == 0:
            return []
        terms, weights = query.indices, query.data
        # Inverted index: only the columns of the query's terms, never the whole matrix.
        start, end = self._matrix.indptr[terms], self._matrix.indptr[terms + 1]
        lengths = end - start
        if not lengths.sum():
            return []
        positions = np.concatenate(
            [np.arange(s, e) for s, e in zip(start.tolist(), end.tolist(), strict=True)]
        )
        rows = self._matrix.indices[positions]
        values = self._matrix.data[positions] * np.repeat(weights, lengths)
        candidates, inverse = np.unique(rows, return_inverse=True)
        scores = np.bincount(inverse, weights=values, minlength=len(candidates))
        if company_id is not None:
            scores = scores + COMPANY_BONUS * (self._companies[candidates] == company_id)
        if exclude:
            excluded = [self._rows[c] for c in exclude if c in self._rows]
            if excluded:
                keep = ~np.isin(candidates, excluded)
                candidates, scores = candidates[keep], scores[keep]
        if not len(candidates):
            return []
        if len(candidates) > k:
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(candidates))
        order = top[np.lexsort((self._ids[candidates[top]], -scores[top]))]
        return [
            (int(self._ids[candidates[i]]), float(min(1.0, max(0.0, scores[i])))) for i in order
        ]


# --- Usual documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDocuments:
    """A finished case's kind and the categories of the documents in its file."""

    case_type: str
    sector: str
    categories: frozenset[str]


@dataclass(frozen=True)
class UsualDocument:
    """A document category usually in such cases: in ``cases`` of ``of_cases`` similar
    finished cases (learnt), or 0 of 0 (the baseline, when there are too few cases)."""

    category: str
    cases: int
    of_cases: int


_D = DocumentCategory
#: What a case of each type needs when the service has too few finished cases to learn from.
#: A consulta asks for information: no document. A queixa is recorded against the company:
#: who complains (DNI) and what they received from it. A reclamacio asks the company for a
#: concrete remedy: who claims, the invoice and the contract at stake, and the earlier claim
#: to the company (the law asks the consumer to claim to the business first). A mediacio
#: goes further: the same, plus the correspondence with the company that did not answer or
#: did not satisfy. A denuncia reports a breach for inspection: who reports and the proof of
#: the purchase (the invoice or ticket).
BASELINE: dict[str, tuple[str, ...]] = {
    "consulta": (),
    "queixa": (_D.DNI.value, _D.CORRESPONDENCIA.value),
    "reclamacio": (
        _D.DNI.value,
        _D.FACTURA.value,
        _D.CONTRACTE.value,
        _D.RECLAMACIO_PREVIA.value,
    ),
    "mediacio": (
        _D.DNI.value,
        _D.FACTURA.value,
        _D.CONTRACTE.value,
        _D.RECLAMACIO_PREVIA.value,
        _D.CORRESPONDENCIA.value,
    ),
    "denuncia": (_D.DNI.value, _D.FACTURA.value),
}
#: Share of similar cases that must have a category for it to be usual.
USUAL_SHARE = 0.4
#: Finished cases needed in a group to learn from it.
USUAL_MIN_CASES = 5
#: "Altres" says nothing a technician could ask for: never proposed.
_NOT_PROPOSED = {_D.ALTRES.value}


class DocumentHabits:
    """The documents usually in finished cases of a kind.

    For (case type, sector): the categories present in at least 40 % of the finished cases
    of the same case type and sector, when there are at least 5 of them; else the same over
    the finished cases of the same case type (at least 5); else ``BASELINE`` (what a consumer
    case of that type needs, by the rules the service applies), with 0 of 0 cases, so the
    page can say it is a general rule, not a habit of the service. "Altres" is never proposed.
    """

    def __init__(self, groups: dict[tuple[str, str], tuple[int, Counter]]):
        # (case_type, sector) -> (cases, Counter of categories); sector "" = any sector
        self._groups = groups

    @classmethod
    def build(cls, cases: Sequence[CaseDocuments]) -> DocumentHabits:
        counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        for case in cases:
            for key in ((case.case_type, case.sector), (case.case_type, "")):
                totals[key] += 1
                counts[key].update(case.categories)
        return cls({key: (totals[key], counts[key]) for key in totals})

    def usual(self, case_type: str, sector: str) -> list[UsualDocument]:
        """Most frequent first; the baseline in its own order."""
        for key in ((case_type, sector), (case_type, "")):
            cases, counter = self._groups.get(key, (0, Counter()))
            if cases >= USUAL_MIN_CASES:
                found = [
                    UsualDocument(category, n, cases)
                    for category, n in counter.items()
                    if n >= USUAL_SHARE * cases and category not in _NOT_PROPOSED
                ]
                return sorted(found, key=lambda d: (-d.cases, d.category))
        return [UsualDocument(category, 0, 0) for category in BASELINE.get(case_type, ())]


# --- Training -------------------------------------------------------------------------------


@dataclass
class TrainingSet:
    """Everything the models learn from, as plain values."""

    case_type: list[Example]
    sector: list[Example]
    past: list[PastCase]
    documents: list[CaseDocuments]


@dataclass
class Models:
    """The trained models (None where there were too few examples)."""

    case_type: TextClassifier | None
    sector: TextClassifier | None
    case_type_eval: Evaluation | None
    sector_eval: Evaluation | None
    similar: SimilarIndex | None
    documents: DocumentHabits
    library: str = field(default=LIBRARY)


def _trainable(examples: Sequence[Example], min_examples: int) -> bool:
    kept, _ = _usable(examples)
    return len(kept) >= min_examples and len({e.label for e in kept}) >= 2


def train(data: TrainingSet, *, min_examples: int = 30, seed: int = 0) -> Models:
    """Evaluate then fit each classifier; build the similar-cases index and the documents'
    habits. A field with fewer than ``min_examples`` usable examples (or a single label) gets
    no model and no evaluation.

    When both fields are learnt from the same texts (each labelled case gives both), a
    held-out split is stratified on the case type and sector together and the texts are read
    once for both fields: the evaluations first, then the final fits."""
    fields = [data.case_type, data.sector]
    strata = None
    if [e.text for e in data.case_type] == [e.text for e in data.sector]:
        strata = [f"{a.label}\x1f{b.label}" for a, b in zip(*fields, strict=True)]
    cache = _LastVectors()
    usable = [_trainable(examples, min_examples) for examples in fields]
    evaluations = [
        evaluate(examples, seed=seed, strata=strata, cache=cache) if ok else None
        for examples, ok in zip(fields, usable, strict=True)
    ]
    models = [
        TextClassifier.fit(examples, seed=seed, cache=cache) if ok else None
        for examples, ok in zip(fields, usable, strict=True)
    ]
    del cache
    return Models(
        case_type=models[0],
        sector=models[1],
        case_type_eval=evaluations[0],
        sector_eval=evaluations[1],
        similar=SimilarIndex.build(data.past) if data.past else None,
        documents=DocumentHabits.build(data.documents),
        library=LIBRARY,
    )


# --- Storage --------------------------------------------------------------------------------


class IncompatibleModel(Exception):
    """The bytes are not models this code can load: another library version, or damaged."""


_MAGIC = b"UMIC-TRIAGE 1\n"


def dumps(models: Models) -> bytes:
    """The models as bytes: a header (``UMIC-TRIAGE 1``, then ``LIBRARY`` on its own line)
    and a pickle (protocol 5) compressed with LZMA (preset 1: a third of zlib's size for
    sparse float matrices, in about the same time).

    Why a pickle is acceptable here: loading a pickle runs whatever code its bytes name, so it
    must never read bytes from anyone else. These bytes are written by this app's own training
    (the command or the worker), stored in its own database next to their SHA-256, and the
    service checks that digest before calling ``loads``; nobody uploads a model. scikit-learn's
    own persistence is pickle too, and it only loads safely with the version that wrote it,
    hence the LIBRARY in the header: any other version raises IncompatibleModel and the service
    retrains. To accept models from elsewhere one would have to switch to a format that holds
    only data (skops with an allow-list of types, or ONNX for prediction, with the vocabularies
    and coefficients stored as plain arrays).
    """
    payload = lzma.compress(pickle.dumps(models, protocol=5), preset=1)
    return _MAGIC + LIBRARY.encode() + b"\n" + payload


def loads(blob: bytes) -> Models:
    """The models ``dumps`` wrote. Raises IncompatibleModel when they were trained by another
    library version or the bytes are damaged."""
    if not blob.startswith(_MAGIC):
        raise IncompatibleModel("not triage models")
    header_end = blob.find(b"\n", len(_MAGIC))
    if header_end < 0:
        raise IncompatibleModel("damaged header")
    library = blob[len(_MAGIC) : header_end].decode(errors="replace")
    if library != LIBRARY:
        raise IncompatibleModel(f"trained with {library}, this is {LIBRARY}")
    try:
        with warnings.catch_warnings():
            # A version mismatch below scikit-learn's own (numpy, scipy) shows as a warning.
            warnings.simplefilter("error")
            models = pickle.load(io.BytesIO(lzma.decompress(blob[header_end + 1 :])))
    except Exception as error:  # noqa: BLE001 - any failure to read is a damaged model
        raise IncompatibleModel(f"damaged: {error}") from error
    if not isinstance(models, Models):
        raise IncompatibleModel("not triage models")
    return models
