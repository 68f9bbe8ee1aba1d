"""A trainable topic model: character n-gram TF-IDF and one logistic regression per topic."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sklearn
from numpy.typing import NDArray

from classifiers.base import TOPICS
from classifiers.char_ngrams import FastCharNgrams
from classifiers.normalize import clean_text
from classifiers.typed_cues import shapes_as_placeholders

__all__ = [
    "MODEL_FILE",
    "REVIEW_LABELS",
    "TopicModel",
    "TopicModelError",
    "TopicReport",
    "TrainParams",
    "TrainingExample",
    "check_folder",
    "read_metadata",
]

NAME = "topic-model"
# Bump when the saved layout or the scoring changes, so old folders are refused, not misread.
FORMAT = 1
MODEL_FILE = "model.json"
ESTIMATORS_FILE = "estimators.joblib"
_RETRAIN = "retrain it: vemeter model train --config CONFIG"
REVIEW_LABELS = "review labels"
# The key of the "any topic" regression among the estimators (TrainParams.gate).
GATE = "_any_topic"
# TopicModel.confirms: a content rule's hit stands unless the model scores its topic under this
# share of the topic's threshold.
VETO_SHARE = 0.2


class TopicModelError(ValueError):
    """A model cannot be trained, saved or loaded; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """One reviewed text: label True/False for `topic`, or for every topic when topic is None."""

    text: str
    topic: str | None
    label: bool


@dataclass(frozen=True)
class TrainParams:
    """What shapes a model; part of its version, so a change of any of them makes a new one."""

    folds: int = 5
    min_positives: int = 10
    threshold_for: Literal["f1", "precision"] = "f1"
    min_precision: float = 0.9
    # Character n-grams within words; 3-5 scored 280-character posts ~40% faster than 2-5.
    ngram_min: int = 3
    ngram_max: int = 5
    max_features: int = 200_000
    c: float = 4.0
    # A second opinion: one more regression, any topic against none (texts labelled no for
    # every topic), and each topic's score a weighted geometric mean of the two, the gate's
    # weight this share (0: no gate). On the starter's dev sets 0.5 halved the benign posts
    # flagged at the same recall (data/starter/README.md).
    gate: float = 0.0


@dataclass(frozen=True)
class TopicReport:
    """How one topic fared in training: its counts, cross-validated quality and threshold."""

    topic: str
    status: Literal["trained", "untrained"]
    positives: int
    negatives: int
    threshold: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    average_precision: float | None = None
    reason: str = ""


@dataclass
class _TopicData:
    texts: list[str] = field(default_factory=list)
    labels: list[bool] = field(default_factory=list)


def _per_topic(examples: Iterable[TrainingExample]) -> tuple[dict[str, _TopicData], int, int]:
    """Examples grouped by topic, plus counts of texts skipped as positive-without-topic or conflicting.

    A "no" without a topic says the text is not violent-extremist content at all, so it is a
    negative for every topic; a "yes" without a topic cannot say for which topic, so it is
    skipped. A topic's own label wins over a topic-less one; a text labelled both yes and no
    for the same topic is dropped as conflicting.
    """
    own: dict[str, dict[str, set[bool]]] = {t: {} for t in TOPICS}
    general_no: set[str] = set()
    untopical_yes = 0
    for ex in examples:
        text = clean_text(ex.text)
        if ex.topic is None:
            if ex.label:
                untopical_yes += 1
            else:
                general_no.add(text)
        elif ex.topic in own:
            own[ex.topic].setdefault(text, set()).add(ex.label)
        else:
            raise TopicModelError(f"{ex.topic!r} is not a topic (use one of: {', '.join(TOPICS)})")
    conflicting = 0
    data: dict[str, _TopicData] = {}
    for topic in TOPICS:
        votes = own[topic]
        conflicted = {text for text, labels in votes.items() if len(labels) > 1}
        conflicting += len(conflicted)
        labelled = dict.fromkeys(general_no - conflicted, False)
        labelled.update({text: next(iter(v)) for text, v in votes.items() if len(v) == 1})
        items = sorted(labelled.items())
        data[topic] = _TopicData([t for t, _ in items], [y for _, y in items])
    return data, untopical_yes, conflicting


def _version(data: dict[str, _TopicData], params: TrainParams) -> str:
    digest = hashlib.sha256()
    # A parameter added since, at its default, leaves earlier versions as they were.
    shaped = {k: v for k, v in asdict(params).items() if not (k == "gate" and not v)}
    header = {"format": FORMAT, "sklearn": sklearn.__version__, "params": shaped}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for topic, d in sorted(data.items()):
        for text, label in zip(d.texts, d.labels, strict=True):
            digest.update(f"\x1e{topic}\x1f{int(label)}\x1f{text}".encode())
    return digest.hexdigest()[:12]


def _choose_threshold(
    y: NDArray[np.bool_], proba: NDArray[np.float64], params: TrainParams
) -> tuple[float, str]:
    """The threshold on out-of-fold probabilities: best F1, or the lowest reaching min_precision."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, proba)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    if params.threshold_for == "precision":
        reaching = np.flatnonzero(precision >= params.min_precision)
        if reaching.size:
            return float(thresholds[reaching[0]]), ""
        note = f"precision {params.min_precision:g} not reached; threshold for the best F1"
        return float(thresholds[int(np.argmax(f1))]), note
    return float(thresholds[int(np.argmax(f1))]), ""


class TopicModel:
    """Topic model scores: character n-gram TF-IDF + logistic regression per topic (scikit-learn)."""

    name = NAME

    def __init__(
        self,
        vectorizer: Any,
        classifiers: dict[str, Any],
        reports: Sequence[TopicReport],
        params: TrainParams,
        version: str,
        trained_at: str,
        skipped: Sequence[str] = (),
        trained_on: str = REVIEW_LABELS,
    ) -> None:
        self.vectorizer = vectorizer
        self.classifiers = classifiers
        self.reports = tuple(reports)
        self.params = params
        self.version = version
        self.trained_at = trained_at
        # What training left out, e.g. "3 positive labels without a topic".
        self.skipped = tuple(skipped)
        # What the labels were: REVIEW_LABELS, or the starter's synthetic corpus and weak labels
        # (classifiers.starter). Shown beside the figures so the two are never confused.
        self.trained_on = trained_on
        # topic -> {text: out-of-fold probability} from fit()'s cross-validation (not saved):
        # what per-language figures are computed from.
        self.out_of_fold: dict[str, dict[str, float]] = {}
        self.labels: tuple[str, ...] = tuple(t for t in TOPICS if t in classifiers)
        self.thresholds = {
            r.topic: float(r.threshold) for r in self.reports if r.threshold is not None
        }
        # The text is vectorised once and one sparse product scores every topic (and the gate,
        # the last column, when there is one).
        self._gated = bool(self.labels) and GATE in classifiers and params.gate > 0
        columns = [*self.labels, GATE] if self._gated else list(self.labels)
        # The same features as the vectorizer's transform, ~4x faster (classifiers.char_ngrams).
        self._features: Any = self.vectorizer.transform
        if FastCharNgrams.fits(self.vectorizer):
            with contextlib.suppress(ValueError):  # two terms sharing a hash: never seen
                self._features = FastCharNgrams(self.vectorizer).transform
        if self.labels:
            # In C order: SciPy's sparse product copies a transposed (F order) matrix per call.
            self._weights = np.ascontiguousarray(
                np.vstack([classifiers[t].coef_[0] for t in columns], dtype=np.float64).T
            )
            self._bias = np.array([classifiers[t].intercept_[0] for t in columns])

    @property
    def tag(self) -> str:
        """name@version, as stored beside every score and tag."""
        return f"{self.name}@{self.version}"

    @classmethod
    def fit(
        cls,
        examples: Iterable[TrainingExample],
        params: TrainParams | None = None,
        progress: Callable[[str], None] | None = None,
        trained_on: str = REVIEW_LABELS,
    ) -> TopicModel:
        """Fit a classifier per topic with enough labels; the others are reported as untrained."""
        from sklearn.metrics import (
            average_precision_score,
            f1_score,
            precision_score,
            recall_score,
        )
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        params = params or TrainParams()
        if params.folds < 2:
            raise TopicModelError(f"folds is {params.folds} (use 2 or more)")
        data, untopical, conflicting = _per_topic(examples)
        texts = sorted({t for d in data.values() for t in d.texts})
        if not texts:
            raise TopicModelError(
                "no usable labels: every positive label lacks a topic, or there are none "
                "(label reviewed texts yes/no for a topic)"
            )
        # The vectorizer sees no labels, so fitting it once on every labelled text leaks nothing
        # about the labels into the cross-validation; only the regressions are refitted per fold.
        # n-grams seen in one text only are noise, except in a handful of texts (tests, pilots)
        # where dropping them could leave no features at all.
        vectorizer = _vectorizer(params, min_df=2 if len(texts) >= 20 else 1)
        matrix = vectorizer.fit_transform(texts)
        row = {text: i for i, text in enumerate(texts)}
        need = max(params.min_positives, params.folds)
        classifiers: dict[str, Any] = {}
        reports: list[TopicReport] = []
        out_of_fold: dict[str, dict[str, float]] = {}
        if not 0.0 <= params.gate < 1.0:
            raise TopicModelError(f"gate is {params.gate} (use a share from 0 to below 1)")
        gate = _fit_gate(data, matrix, row, params, need) if params.gate else None
        if gate is not None:
            classifiers[GATE] = gate[0]
        for topic in TOPICS:
            if progress:
                progress(topic)
            d = data[topic]
            y = np.array(d.labels, dtype=bool)
            pos, neg = int(y.sum()), int((~y).sum())
            if pos < need or neg < need:
                short = "positive" if pos < need else "negative"
                reason = f"{min(pos, neg)} {short} labels, needs at least {need}"
                reports.append(TopicReport(topic, "untrained", pos, neg, reason=reason))
                continue
            x = matrix[[row[t] for t in d.texts]]
            folds = StratifiedKFold(n_splits=params.folds, shuffle=True, random_state=0)
            oof = cross_val_predict(_regression(params), x, y, cv=folds, method="predict_proba")
            proba = oof[:, 1]
            if gate is not None:
                proba = _gated(proba, np.array([gate[1][t] for t in d.texts]), params.gate)
            out_of_fold[topic] = dict(zip(d.texts, proba.tolist(), strict=True))
            threshold, note = _choose_threshold(y, proba, params)
            predicted = proba >= threshold
            reports.append(
                TopicReport(
                    topic, "trained", pos, neg, threshold=round(threshold, 6),
                    precision=float(precision_score(y, predicted, zero_division=0.0)),
                    recall=float(recall_score(y, predicted)),
                    f1=float(f1_score(y, predicted, zero_division=0.0)),
                    average_precision=float(average_precision_score(y, proba)),
                    reason=note,
                )
            )  # fmt: skip
            classifiers[topic] = _regression(params).fit(x, y)
        skipped = []
        if params.gate and gate is None:
            skipped.append(
                f"the any-topic gate (needs {need} texts with a topic and {need} labelled "
                "no for every topic)"
            )
        if untopical:
            skipped.append(f"{untopical} positive labels without a topic")
        if conflicting:
            skipped.append(f"{conflicting} texts labelled both yes and no for one topic")
        version = _version(data, params)
        trained_at = datetime.now(UTC).isoformat(timespec="seconds")
        model = cls(
            vectorizer, classifiers, reports, params, version, trained_at, skipped, trained_on
        )
        model.out_of_fold = out_of_fold
        return model

    def score_many(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Scores in [0, 1], one row per text and one column per trained topic (self.labels):
        the topic's probability, or with a gate (TrainParams.gate) its geometric mean with the
        probability of any topic."""
        if not self.labels:
            return np.zeros((len(texts), 0))
        x = self._features(texts)
        logits = x @ self._weights + self._bias
        proba = np.asarray(1.0 / (1.0 + np.exp(-logits)))
        if self._gated:
            return _gated(proba[:, :-1], proba[:, -1:], self.params.gate)
        return proba

    def predict(self, texts: Sequence[str]) -> list[tuple[tuple[str, float], ...]]:
        """(topic, probability) pairs sorted by topic for each text, as Classification.scores."""
        order = sorted(range(len(self.labels)), key=lambda i: self.labels[i])
        labels = [self.labels[i] for i in order]
        # One tolist() for the batch: indexing NumPy rows per post cost more than the scoring.
        rows = self.score_many(texts)[:, order].tolist()
        return [tuple(zip(labels, row, strict=True)) for row in rows]

    def flagged_topics(self, scores: Iterable[tuple[str, float]]) -> tuple[str, ...]:
        """Topics whose score reaches the threshold chosen for them in training."""
        thresholds = self.thresholds
        return tuple(t for t, s in scores if s >= thresholds.get(t, math.inf))

    def confirms(self, topic: str, scores: Iterable[tuple[str, float]]) -> bool:
        """Whether a content rule's hit on `topic` stands beside these scores: False only when
        the model was trained for the topic and scores it under VETO_SHARE of its threshold
        (a rule hit on a post the model reads as clearly benign: a flood appeal "for our
        brothers", a job ad with the fare paid)."""
        threshold = self.thresholds.get(topic)
        score = dict(scores).get(topic)
        return threshold is None or score is None or score >= VETO_SHARE * threshold

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "name": self.name, "version": self.version,
            "sklearn": sklearn.__version__, "trained_at": self.trained_at,
            "params": asdict(self.params), "skipped": list(self.skipped),
            "trained_on": self.trained_on,
            "topics": {r.topic: asdict(r) for r in self.reports},
        }  # fmt: skip

    def save(self, directory: Path) -> None:
        """Write the fitted estimators (joblib) and model.json into directory."""
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        estimators = directory / ESTIMATORS_FILE
        tmp = estimators.with_suffix(".tmp")
        joblib.dump({"vectorizer": self.vectorizer, "classifiers": self.classifiers}, tmp)
        os.replace(tmp, estimators)
        meta = self.metadata() | {"estimators_sha256": _sha256(estimators)}
        tmp = directory / f"{MODEL_FILE}.tmp"
        tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, directory / MODEL_FILE)  # written last: a folder with it is complete

    @classmethod
    def load(cls, directory: Path) -> TopicModel:
        """Read a folder written by save(); refuse other formats and scikit-learn versions.

        joblib files are pickles and run code when loaded: load only models you trained.
        """
        import joblib

        meta = check_folder(directory)
        fitted = joblib.load(directory / ESTIMATORS_FILE)
        reports = [TopicReport(**r) for r in meta["topics"].values()]
        params = TrainParams(**meta["params"])
        return cls(
            fitted["vectorizer"], fitted["classifiers"], reports, params,
            meta["version"], meta["trained_at"], meta.get("skipped", ()),
            meta.get("trained_on", REVIEW_LABELS),
        )  # fmt: skip


def check_folder(directory: Path) -> dict[str, Any]:
    """model.json of a usable model folder (format, scikit-learn version and file hash checked).

    Cheap enough for the crawling process: the estimators are hashed, not unpickled.
    """
    meta = read_metadata(directory)
    if meta.get("format") != FORMAT or meta.get("name") != NAME:
        raise TopicModelError(f"{directory}: not a {NAME} folder of format {FORMAT} ({_RETRAIN})")
    if meta.get("sklearn") != sklearn.__version__:
        raise TopicModelError(
            f"{directory}: trained with scikit-learn {meta.get('sklearn')}, this is "
            f"{sklearn.__version__} ({_RETRAIN})"
        )
    estimators = directory / ESTIMATORS_FILE
    if not estimators.is_file() or _sha256(estimators) != meta.get("estimators_sha256"):
        raise TopicModelError(
            f"{directory}: {ESTIMATORS_FILE} is missing or does not match {MODEL_FILE} ({_RETRAIN})"
        )
    return meta


def read_metadata(directory: Path) -> dict[str, Any]:
    """model.json of a model folder, or a TopicModelError saying how to get one."""
    file = directory / MODEL_FILE
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopicModelError(
            f"{directory}: no trained model there (train one: vemeter model train --config CONFIG)"
        ) from None
    except (OSError, ValueError) as exc:
        raise TopicModelError(f"{file}: cannot read it ({exc}; {_RETRAIN})") from None
    if not isinstance(meta, dict):
        raise TopicModelError(f"{file}: not a model description ({_RETRAIN})")
    return meta


def _gated(
    topic: NDArray[np.float64], gate: NDArray[np.float64], share: float
) -> NDArray[np.float64]:
    """The topic's probability and the gate's, in a geometric mean weighted by share."""
    return np.asarray(topic ** (1.0 - share) * gate**share, dtype=np.float64)


def _fit_gate(
    data: dict[str, _TopicData], matrix: Any, row: dict[str, int], params: TrainParams, need: int
) -> tuple[Any, dict[str, float]] | None:
    """The "any topic" regression and its probability for every text (out of fold for the
    texts it learnt from): positive when some topic says yes, negative when every topic says
    no. Hard look-alikes (charity to a card, job ads abroad) are negatives of every topic, so
    it learns "benign" from all of them at once, where each topic learns from its share."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    yes: set[str] = set()
    noes: dict[str, int] = {}
    for d in data.values():
        for text, label in zip(d.texts, d.labels, strict=True):
            if label:
                yes.add(text)
            else:
                noes[text] = noes.get(text, 0) + 1
    labelled = sorted(yes | {t for t, n in noes.items() if n == len(data)})
    y = np.array([t in yes for t in labelled], dtype=bool)
    if y.sum() < need or (~y).sum() < need:
        return None
    x = matrix[[row[t] for t in labelled]]
    folds = StratifiedKFold(n_splits=params.folds, shuffle=True, random_state=0)
    oof = cross_val_predict(_regression(params), x, y, cv=folds, method="predict_proba")[:, 1]
    fitted = _regression(params).fit(x, y)
    proba = dict(zip(row, fitted.predict_proba(matrix)[:, 1].tolist(), strict=True))
    proba.update(zip(labelled, oof.tolist(), strict=True))
    return fitted, proba


def _vectorizer(params: TrainParams, min_df: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(params.ngram_min, params.ngram_max),
        min_df=min_df, max_features=params.max_features,
        sublinear_tf=True, dtype=np.float64, preprocessor=shapes_as_placeholders,
    )  # fmt: skip


def _regression(params: TrainParams) -> Any:
    from sklearn.linear_model import LogisticRegression

    # Balanced weights: positives are rare among reviewed posts, and the threshold is tuned anyway.
    # liblinear fitted these small sparse problems in half lbfgs's time, and its dual form
    # (features far outnumber posts) ~6x faster again, to the same coefficients.
    return LogisticRegression(
        C=params.c, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
