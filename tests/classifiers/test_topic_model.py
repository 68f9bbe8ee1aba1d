"""The trainable topic model: it separates, cross-validates, saves, loads and versions itself."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import numpy as np
import pytest

from classifiers.topic_model import (
    MODEL_FILE,
    TopicModel,
    TopicModelError,
    TrainingExample,
    TrainParams,
)

# Neutral everyday words; a topic's "positives" add neutral indicator words (no real content).
FILLER = (
    "market", "weather", "school", "bus", "river", "garden", "football", "concert", "bread",
    "tea", "bridge", "library", "museum", "train", "holiday", "погода", "рынок", "автобус",
    "школа", "библиотека", "праздник", "bazar", "yangilik", "kun",
)  # fmt: skip
INDICATORS = {
    "financing": ("donation", "receipt", "transfer"),
    "recruitment": ("volunteer", "vacancy", "орнитолог"),
}


def sentence(rng: random.Random, extra: tuple[str, ...] = ()) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(8, 16))] + list(extra)
    rng.shuffle(words)
    return " ".join(words)


def examples(
    positives: int = 40,
    negatives: int = 60,
    seed: int = 0,
    topics: tuple[str, ...] = ("financing",),
) -> list[TrainingExample]:
    """Per topic: positives mention two of its indicator words, negatives mention none."""
    rng = random.Random(seed)
    out: list[TrainingExample] = []
    for topic in topics:
        words = INDICATORS[topic]
        out += [
            TrainingExample(sentence(rng, tuple(rng.sample(words, 2))), topic, True)
            for _ in range(positives)
        ]
        out += [TrainingExample(sentence(rng), topic, False) for _ in range(negatives)]
    return out


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return TopicModel.fit(examples(topics=("financing", "recruitment")))


def test_it_learns_to_separate_unseen_texts(model: TopicModel) -> None:
    rng = random.Random(99)
    positives = [sentence(rng, ("donation", "receipt")) for _ in range(20)]
    negatives = [sentence(rng) for _ in range(20)] + [sentence(rng, ("volunteer", "vacancy"))]
    scores = model.score_many(positives + negatives)
    column = model.labels.index("financing")
    assert scores[:20, column].min() > scores[20:, column].max()
    flagged = [model.flagged_topics(s) for s in model.predict(positives + negatives)]
    assert all("financing" in f for f in flagged[:20])
    assert not any("financing" in f for f in flagged[20:])
    assert flagged[-1] == ("recruitment",)


def test_cross_validated_metrics_and_untrained_topics(model: TopicModel) -> None:
    reports = {r.topic: r for r in model.reports}
    assert model.labels == ("recruitment", "financing")  # in TOPICS order
    financing = reports["financing"]
    assert (financing.status, financing.positives) == ("trained", 40)
    # Its negatives: its own 60 plus nothing from recruitment (a topic's "no" says nothing else).
    assert financing.negatives == 60
    assert financing.precision == financing.recall == financing.f1 == 1.0
    assert financing.threshold is not None and 0.0 < financing.threshold < 1.0
    glorification = reports["glorification"]
    assert glorification.status == "untrained"
    assert glorification.reason == "0 positive labels, needs at least 10"
    assert "glorification" not in dict(model.predict(["tea"])[0])


def test_metrics_come_from_held_out_folds_not_from_the_training_fit() -> None:
    from sklearn.metrics import average_precision_score

    rng = random.Random(3)

    def made_up() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(10))

    # Labels independent of the text, which carries made-up words the fit can memorise.
    noise = [
        TrainingExample(sentence(rng, (made_up(), made_up())), "financing", rng.random() < 0.5)
        for _ in range(120)
    ]
    model = TopicModel.fit(noise)
    report = next(r for r in model.reports if r.topic == "financing")
    base_rate = report.positives / (report.positives + report.negatives)
    fitted = average_precision_score(
        [e.label for e in noise], model.score_many([e.text for e in noise])[:, 0]
    )
    assert report.average_precision is not None
    assert report.average_precision < base_rate + 0.1 < fitted - 0.1


def test_too_few_positives_or_negatives_are_reported_not_trained() -> None:
    data = examples(positives=6, negatives=40) + examples(
        positives=30, negatives=3, topics=("recruitment",)
    )
    model = TopicModel.fit(data, TrainParams(min_positives=8))
    reports = {r.topic: r for r in model.reports}
    assert reports["financing"].reason == "6 positive labels, needs at least 8"
    assert reports["recruitment"].reason == "3 negative labels, needs at least 8"
    assert model.labels == ()
    assert model.score_many(["tea"]).shape == (1, 0)


def test_labels_without_topic_and_conflicts() -> None:
    data = examples()
    general = [TrainingExample(f"bread tea number {i}", None, False) for i in range(15)]
    data += general + [TrainingExample("weather donation", None, True)] * 2
    data += [
        TrainingExample("bus receipt", "financing", True),
        TrainingExample("bus receipt", "financing", False),
    ]
    model = TopicModel.fit(data)
    financing = next(r for r in model.reports if r.topic == "financing")
    # A "no" for any topic is a negative for each; a "yes" without a topic is left out.
    assert (financing.positives, financing.negatives) == (40, 75)
    glorification = next(r for r in model.reports if r.topic == "glorification")
    assert glorification.negatives == 15
    assert model.skipped == (
        "2 positive labels without a topic",
        "1 texts labelled both yes and no for one topic",
    )
    with pytest.raises(TopicModelError, match="'nope' is not a topic"):
        TopicModel.fit([TrainingExample("tea", "nope", True)])
    with pytest.raises(TopicModelError, match="no usable labels"):
        TopicModel.fit([TrainingExample("tea", None, True)])


def test_a_precision_target_raises_the_threshold() -> None:
    rng = random.Random(5)
    data = examples(positives=40, negatives=80, seed=5)
    # Texts with one indicator word, 18 of 30 labelled yes: the best F1 takes them in.
    data += [TrainingExample(sentence(rng, ("transfer",)), "financing", i < 18) for i in range(30)]
    f1 = next(r for r in TopicModel.fit(data).reports if r.topic == "financing")
    strict = TopicModel.fit(data, TrainParams(threshold_for="precision", min_precision=0.95))
    report = next(r for r in strict.reports if r.topic == "financing")
    assert f1.threshold is not None and report.threshold is not None
    assert f1.precision is not None and f1.precision < 0.95
    assert report.threshold > f1.threshold
    assert report.precision is not None and report.precision >= 0.95
    assert report.recall is not None and f1.recall is not None and report.recall < f1.recall


def test_save_and_load_round_trip(model: TopicModel, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    loaded = TopicModel.load(tmp_path / "m")
    texts = ["donation receipt market", "tea bridge", "vacancy volunteer bus"]
    assert np.allclose(loaded.score_many(texts), model.score_many(texts))
    assert (loaded.version, loaded.labels, loaded.thresholds) == (
        model.version, model.labels, model.thresholds,
    )  # fmt: skip
    assert loaded.reports == model.reports
    # The one-product fast path gives scikit-learn's own probabilities.
    x = loaded.vectorizer.transform(texts)
    expected = loaded.classifiers["financing"].predict_proba(x)[:, 1]
    assert np.allclose(loaded.score_many(texts)[:, loaded.labels.index("financing")], expected)
    meta = json.loads((tmp_path / "m" / MODEL_FILE).read_text())
    assert meta["name"] == "topic-model" and meta["version"] == model.version


def test_version_follows_data_and_parameters() -> None:
    data = examples()
    first = TopicModel.fit(data).version
    assert TopicModel.fit(list(reversed(data))).version == first  # order does not matter
    changed = [*data[:-1], TrainingExample(data[-1].text, "financing", True)]
    assert TopicModel.fit(changed).version != first
    assert TopicModel.fit(data, TrainParams(folds=4)).version != first
    assert len(first) == 12


def test_load_refuses_other_versions_and_tampering(model: TopicModel, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    with pytest.raises(TopicModelError, match="no trained model there"):
        TopicModel.load(folder)
    model.save(folder)
    meta_file = folder / MODEL_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(meta | {"sklearn": "0.24.2"}))
    with pytest.raises(TopicModelError) as info:
        TopicModel.load(folder)
    assert "trained with scikit-learn 0.24.2" in str(info.value)
    assert "vemeter model train --config CONFIG" in str(info.value)
    meta_file.write_text(json.dumps(meta | {"estimators_sha256": "0" * 64}))
    with pytest.raises(TopicModelError, match="does not match"):
        TopicModel.load(folder)
    meta_file.write_text("{not json")
    with pytest.raises(TopicModelError, match="cannot read it"):
        TopicModel.load(folder)


def test_the_model_reads_payment_and_contact_shapes_as_the_placeholders_it_was_trained_on() -> None:
    """Training posts carry [CARD] and [CONTACT]; a crawled post has the number itself."""
    examples = [
        TrainingExample(f"помогите братьям {i}, карта [CARD]", "financing", True) for i in range(12)
    ] + [
        TrainingExample(f"погода в городе {i}, звоните [CONTACT]", "financing", False)
        for i in range(12)
    ]
    model = TopicModel.fit(examples, TrainParams(folds=3, min_positives=3))
    real, placeholder = model.predict(
        ["помогите братьям, карта 4400 1234 5678 9012", "помогите братьям, карта [CARD]"]
    )
    assert real == placeholder
    assert model.predict(["звоните +7 701 123 45 67"]) == model.predict(["звоните [CONTACT]"])


def gated_examples(seed: int = 7) -> list[TrainingExample]:
    """Financing positives; benign texts labelled no for every topic, half of them sharing a
    financing word (the look-alikes a gate learns "benign" from)."""
    rng = random.Random(seed)
    data = examples(positives=40, negatives=20, seed=seed)
    data += [TrainingExample(sentence(rng), None, False) for _ in range(30)]
    data += [TrainingExample(sentence(rng, ("receipt",)), None, False) for _ in range(30)]
    return data


def test_a_gate_scores_each_topic_with_the_any_topic_regression(tmp_path: Path) -> None:
    from classifiers.topic_model import GATE

    data = gated_examples()
    gated = TopicModel.fit(data, TrainParams(gate=0.5))
    plain = TopicModel.fit(data)
    assert GATE in gated.classifiers and GATE not in plain.classifiers
    assert gated.labels == plain.labels == ("financing",)  # the gate is no topic
    assert gated.version != plain.version
    texts = ["donation receipt market", "tea bridge receipt", "bus river"]
    x = gated.vectorizer.transform(texts)
    topic = gated.classifiers["financing"].predict_proba(x)[:, 1]
    anything = gated.classifiers[GATE].predict_proba(x)[:, 1]
    assert np.allclose(gated.score_many(texts)[:, 0], np.sqrt(topic * anything))
    report = next(r for r in gated.reports if r.topic == "financing")
    assert report.precision == report.recall == 1.0
    gated.save(tmp_path / "m")
    loaded = TopicModel.load(tmp_path / "m")
    assert np.allclose(loaded.score_many(texts), gated.score_many(texts))
    assert loaded.params.gate == 0.5 and loaded.labels == ("financing",)


def test_a_gate_without_texts_labelled_no_for_every_topic_is_skipped_and_said() -> None:
    model = TopicModel.fit(examples(), TrainParams(gate=0.5))
    assert "financing" in model.labels
    assert model.skipped == (
        "the any-topic gate (needs 10 texts with a topic and 10 labelled no for every topic)",
    )


def test_a_rule_hit_stands_unless_the_model_reads_the_post_as_clearly_benign() -> None:
    from classifiers.topic_model import VETO_SHARE

    model = TopicModel.fit(gated_examples(), TrainParams(gate=0.5))
    threshold = model.thresholds["financing"]
    assert model.confirms("financing", [("financing", threshold * VETO_SHARE)])
    assert not model.confirms("financing", [("financing", threshold * VETO_SHARE * 0.99)])
    assert model.confirms("recruitment", [("financing", 0.0)])  # an untrained topic: no say
    assert model.confirms("financing", [])
