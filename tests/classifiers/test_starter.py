"""The starter topic model: writer labels, lexicon weak labels, figures per language."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from classifiers.base import CONTENT_TOPICS
from classifiers.normalize import clean_text
from classifiers.starter import (
    ALL_LANGUAGES,
    STARTER_PARAMS,
    CorpusRow,
    load_corpus,
    starter_examples,
    train_starter,
)
from classifiers.topic_model import TopicModel, TopicModelError, TrainingExample, TrainParams


def marked(text: str) -> Iterable[str]:
    """A stand-in lexicon: "zzfin" is financing."""
    return {"financing"} if "zzfin" in text else set()


def test_corpus_rows_keep_their_writers_labels_and_background_gets_the_lexicons() -> None:
    corpus = [CorpusRow("pay qqfin", "en", ("financing",)), CorpusRow("rain today", "en", ())]
    examples = starter_examples(corpus, ["a plain sentence", "zzfin in a sentence"], marked)
    assert TrainingExample("pay qqfin", "financing", True) in examples
    assert TrainingExample("pay qqfin", "recruitment", False) in examples
    assert TrainingExample("rain today", None, False) in examples  # benign: no for every topic
    assert TrainingExample("a plain sentence", None, False) in examples
    assert TrainingExample("zzfin in a sentence", "financing", True) in examples
    assert not any(e.topic == "designated_org" for e in examples)  # names stay the lexicon's


def write_corpus(folder: Path, rows: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus_x.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"text": "x", "lang": "en", "topics": ["designated_org"]}', "corpus_x.jsonl:2: topics"),
        ('{"text": "", "lang": "en"}', "corpus_x.jsonl:2: needs a non-empty text"),
        ("{broken", "corpus_x.jsonl:2: not JSON"),
    ],
)
def test_a_bad_corpus_row_is_named_by_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "corpus_x.jsonl").write_text(
        '{"text": "fine", "lang": "en", "topics": []}\n' + line + "\n", encoding="utf-8"
    )
    with pytest.raises(TopicModelError, match=says):
        load_corpus(tmp_path)


def test_an_empty_folder_says_there_is_nothing_to_train_on(tmp_path: Path) -> None:
    with pytest.raises(TopicModelError, match="no corpus_"):
        load_corpus(tmp_path)


def small_corpus(folder: Path) -> None:
    rows: list[dict[str, object]] = []
    for i in range(16):
        rows.append({"text": f"card qqfin number {i} send", "lang": "en", "topics": ["financing"]})
        rows.append({"text": f"карта qqfin номер {i}", "lang": "ru", "topics": ["financing"]})
        rows.append({"text": f"weather report {i} sunny", "lang": "en", "topics": []})
        rows.append({"text": f"погода сводка {i} ясно", "lang": "ru", "topics": []})
    write_corpus(folder, rows)
    (folder / "background.jsonl").write_text(
        "".join(
            json.dumps({"text": f"city news item {i}" + (" zzfin" if i < 3 else ""), "lang": "en"})
            + "\n"
            for i in range(20)
        ),
        encoding="utf-8",
    )


def test_the_starter_reports_each_language_and_says_what_it_was_trained_on(
    tmp_path: Path,
) -> None:
    small_corpus(tmp_path)
    params = TrainParams(folds=3, min_positives=5)
    model, figures = train_starter(marked, "lexicon@test", params, folder=tmp_path)
    assert model.labels == ("financing",)
    assert model.trained_on.startswith("starter: 64 synthetic posts")
    assert "20 real sentences labelled by lexicon@test (weak); no review labels" in model.trained_on
    by_lang = {f.lang: f for f in figures if f.topic == "financing"}
    assert set(by_lang) == {"en", "ru", ALL_LANGUAGES}
    assert (by_lang["en"].positives, by_lang["en"].negatives) == (16, 16)
    assert by_lang[ALL_LANGUAGES].positives == by_lang["en"].positives + by_lang["ru"].positives
    assert by_lang[ALL_LANGUAGES].recall == 1.0 and by_lang[ALL_LANGUAGES].precision == 1.0
    # The three weak positives count for training, never in the corpus figures.
    report = next(r for r in model.reports if r.topic == "financing")
    assert report.positives == 32 + 3
    model.save(tmp_path / "model")
    assert TopicModel.load(tmp_path / "model").trained_on == model.trained_on


def test_without_parameters_the_starter_trains_with_its_own(tmp_path: Path) -> None:
    """STARTER_PARAMS: precision-targeted thresholds and the any-topic gate."""
    small_corpus(tmp_path)
    model, _ = train_starter(marked, "lexicon@test", folder=tmp_path)
    assert model.params == STARTER_PARAMS
    assert STARTER_PARAMS.threshold_for == "precision" and STARTER_PARAMS.gate > 0
    assert model.labels == ("financing",) and not model.skipped  # the gate was trained


def test_the_shipped_corpus_covers_every_topic_and_language_with_writer_labels() -> None:
    rows = load_corpus()
    assert {t for r in rows for t in r.topics} == set(CONTENT_TOPICS)
    assert {r.lang for r in rows} == {"ru", "uz", "en", "kk", "ky", "tg", "ar", "tk"}
    benign = sum(not r.topics for r in rows)
    assert 0.3 < benign / len(rows) < 0.7  # hard negatives beside the content posts
    labels: dict[str, set[tuple[str, ...]]] = {}
    for r in rows:
        labels.setdefault(clean_text(r.text), set()).add(r.topics)
    assert not [text for text, found in labels.items() if len(found) > 1]  # no text both ways
