"""The topic model in the classification stage: each mode's flags, score tags and their versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from classifiers.post import PostClassifier
from classifiers.topic_model import TopicModel
from crawler.items import PostItem
from crawler.storing import BackgroundStore, StoreSpec
from storage.engine import open_database
from storage.models import DailyCount, Post, Tag
from storage.records import build_record
from storage.runs import start_run

LANGS = ("ru", "en", "kk")
MODEL_ONLY = "Bread market news: donation receipt at the library"  # no lexicon term
LEXICON_ONLY = "Суд рассмотрел дело о членстве в ИГИЛ"
NEUTRAL = "Погода в Бишкеке: завтра снег и ветер"


def flags(classifier: PostClassifier) -> list[bool]:
    results = classifier.classify_many([MODEL_ONLY, LEXICON_ONLY, NEUTRAL])
    return [
        build_record(
            item(i, text), result, classifier.versions, "none",
            model_topics=classifier.model_topics(result), lexicon_flags=classifier.lexicon_flags,
        ).flagged
        for i, (text, result) in enumerate(zip([MODEL_ONLY, LEXICON_ONLY, NEUTRAL], results, strict=True))
    ]  # fmt: skip


def item(i: int, text: str) -> PostItem:
    return PostItem("vk", "s", "club1", f"-1_{i}", datetime(2025, 3, 1, tzinfo=UTC), text)


@pytest.fixture(scope="module")
def either(model_dir: Path) -> PostClassifier:
    """Lexicon or model flags: built once for the tests that only classify with it."""
    return PostClassifier(languages=LANGS, topics="either", model=model_dir)


def test_each_mode_decides_what_flags(model_dir: Path, either: PostClassifier) -> None:
    assert flags(PostClassifier(languages=LANGS)) == [False, True, False]
    # A configured model scores in lexicon mode too, without flagging anything itself.
    shadow = PostClassifier(languages=LANGS, model=model_dir)
    assert flags(shadow) == [False, True, False]
    assert [t for t, _ in shadow.classify(MODEL_ONLY).scores] == ["financing", "recruitment"]
    model = PostClassifier(languages=LANGS, topics="model", model=model_dir)
    assert flags(model) == [True, False, False]
    assert flags(either) == [True, True, False]
    assert either.model_topics(either.classify(MODEL_ONLY)) == ("financing",)
    assert either.classify(MODEL_ONLY).matches == ()  # the lexicon misses it


def test_records_name_the_model_and_its_version(model_dir: Path, either: PostClassifier) -> None:
    classifier = either
    version = TopicModel.load(model_dir).version
    assert classifier.versions["model"] == f"topic-model@{version}"
    assert f"model=topic-model@{version}" in classifier.version
    result = classifier.classify(MODEL_ONLY)
    record = build_record(
        item(0, MODEL_ONLY), result, classifier.versions, "flagged",
        model_topics=classifier.model_topics(result), lexicon_flags=True,
    )  # fmt: skip
    scores = dict(result.scores)
    # ("donation" is a financing candidate word: a borderline signal may come too.)
    model_tags = [t for t in record.tags if t.kind != "signal"]
    assert [(t.kind, t.label, t.score, t.classifier, t.version) for t in model_tags] == [
        ("score", "financing", scores["financing"], "topic-model", version),
        ("score", "recruitment", scores["recruitment"], "topic-model", version),
        ("topic", "financing", scores["financing"], "topic-model", version),
    ]
    assert record.flagged and record.text == MODEL_ONLY  # keep_text: flagged


def test_modes_need_a_model() -> None:
    with pytest.raises(ValueError, match="needs a model folder"):
        PostClassifier(languages=LANGS, topics="either")
    with pytest.raises(ValueError, match="unknown topics mode"):
        PostClassifier(languages=LANGS, topics="both")


@pytest.mark.e2e
def test_the_writer_process_stores_scores_and_model_topics(model_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = open_database(url)
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    spec = StoreSpec(
        url, run, (), LANGS, "py3langid", "flagged", tmp_path / "unsaved.jsonl",
        topics="either", model_path=model_dir,
    )  # fmt: skip
    store = BackgroundStore(spec, batch_size=4)
    texts = [MODEL_ONLY, LEXICON_ONLY, NEUTRAL]
    for i in range(9):
        store.submit(item(i, texts[i % 3]))
    totals = store.close()
    assert (totals.new, totals.flagged, store.error) == (9, 6, None)
    version = TopicModel.load(model_dir).version
    assert store.versions["model"] == f"topic-model@{version}"
    with engine.connect() as conn:
        scores = conn.execute(
            select(Tag.label, Tag.classifier, Tag.version).where(Tag.kind == "score")
        ).all()
        model_topics = conn.execute(
            select(Post.text, Tag.label).join(Tag, Tag.post_pk == Post.id)
            .where(Tag.kind == "topic", Tag.classifier == "topic-model")
        ).all()  # fmt: skip
        financing = conn.execute(
            select(DailyCount.posts, DailyCount.flagged).where(DailyCount.topic == "financing")
        ).one()
    assert len(scores) == 9 * 2
    assert set(scores) == {
        ("financing", "topic-model", version),
        ("recruitment", "topic-model", version),
    }
    assert set(model_topics) == {(MODEL_ONLY, "financing")}
    assert tuple(financing) == (3, 3)


def test_scores_below_the_floor_are_not_stored() -> None:
    from classifiers.base import Classification
    from storage.records import SCORE_FLOOR, build_record

    result = Classification(
        "en", "Latn", 0.9, (), scores=(("financing", SCORE_FLOOR / 2), ("recruitment", 0.3))
    )
    versions = {"language": "l@1", "lexicon": "lexicon@1", "model": "topic-model@abc"}
    record = build_record(item(0, NEUTRAL), result, versions, "none")
    assert [(t.kind, t.label) for t in record.tags] == [("score", "recruitment")]


def test_the_project_config_reaches_the_writer(model_dir: Path, tmp_path: Path) -> None:
    from crawler.config import load_config

    config = tmp_path / "p.yaml"
    config.write_text(
        f"project: p\nclassifier: {{topics: either, model: {model_dir}, designations: [kg, un]}}\n",
        encoding="utf-8",
    )
    spec = StoreSpec.for_config(load_config(config), 7, tmp_path / "unsaved.jsonl")
    assert (spec.topics, spec.model_path, spec.run_id) == ("either", model_dir, 7)
    assert spec.designations is not None and set(spec.designations) == {"kg", "un"}
    assert spec.keep_text == "flagged" and spec.lexicon_paths == ()


RULE_HIT = "Send zakat for the mujahideen, card 4276 0000 0000 1234"  # a financing rule fires


@pytest.mark.parametrize("confirmed", [True, False])
def test_a_rule_hit_the_model_reads_as_benign_is_only_borderline(
    either: PostClassifier, monkeypatch: pytest.MonkeyPatch, confirmed: bool
) -> None:
    """In `either` mode the model may veto a content rule's hit (TopicModel.confirms): the post
    is then not flagged for that topic but keeps a borderline mark for review sampling."""
    assert either.model is not None
    seen: list[tuple[str, dict[str, float]]] = []

    def confirms(topic: str, scores: tuple[tuple[str, float], ...]) -> bool:
        seen.append((topic, dict(scores)))
        return confirmed

    monkeypatch.setattr(either.model, "confirms", confirms)
    for result in (either.classify(RULE_HIT), either.classify_many([RULE_HIT])[0]):
        rules = [m.topic for m in result.matches if m.family == "content_rules"]
        marks = [s.name for s in result.signals if s.name == "borderline_financing"]
        assert (rules, marks) == (
            (["financing"], []) if confirmed else ([], ["borderline_financing"])
        )
    # The model was asked with this post's own scores.
    assert seen and all(
        t == "financing" and set(s) == {"financing", "recruitment"} for t, s in seen
    )


def test_a_lexicon_mode_classifier_never_vetoes(model_dir: Path) -> None:
    shadow = PostClassifier(languages=LANGS, model=model_dir)
    assert shadow.model is not None
    shadow.model.confirms = lambda topic, scores: False  # type: ignore[method-assign]
    assert [m.topic for m in shadow.classify(RULE_HIT).matches] == ["financing"]
