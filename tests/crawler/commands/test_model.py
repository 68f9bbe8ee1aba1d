"""`vemeter model train|show`, its config keys, and training examples from the review tables."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from classifiers.topic_model import MODEL_FILE, TopicModel, TrainingExample, TrainParams
from crawler.classification import check_topic_model
from crawler.commands.app import app
from crawler.config import load_config
from crawler.errors import ConfigError, InputError
from storage.engine import open_database
from storage.models import ReviewItem, ReviewLabel, ReviewSample
from storage.records import PostRecord
from storage.runs import start_run
from storage.training import review_examples
from storage.writer import PostWriter
from tests.classifiers.test_topic_model import examples
from tests.cli import vemeter

runner = CliRunner()
WHEN = datetime(2025, 3, 1, tzinfo=UTC)


def write_config(folder: Path, classifier: str = "{model: models/topics}") -> Path:
    config = folder / "p.yaml"
    config.write_text(
        f"project: p\nstorage: {{url: 'sqlite:///p.db'}}\nclassifier: {classifier}\n",
        encoding="utf-8",
    )
    return config


def write_labels(path: Path, rows: list[TrainingExample]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "topic", "label"])
        writer.writerows([e.text, e.topic or "*", "yes" if e.label else "no"] for e in rows)
    return path


def test_train_from_a_labels_file_then_show(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    labels = write_labels(tmp_path / "labels.csv", examples())
    done = runner.invoke(
        app,
        ["model", "train", "--config", str(config), "--labels", str(labels), "--format", "json"],
    )
    assert done.exit_code == 0, done.output
    rows = {r["topic"]: r for r in json.loads(done.stdout)}
    assert rows["financing"]["status"] == "trained"
    assert (rows["financing"]["positives"], rows["financing"]["negatives"]) == (40, 60)
    assert rows["financing"]["precision"] == rows["financing"]["recall"] == 1.0
    assert rows["recruitment"]["note"] == "0 positive labels, needs at least 10"
    folder = tmp_path / "models" / "topics"  # classifier.model, relative to the config
    model = TopicModel.load(folder)
    assert model.labels == ("financing",)
    assert f"wrote {folder} ({model.tag}" in done.stderr
    shown = runner.invoke(app, ["model", "show", "--config", str(config), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == json.loads(done.stdout)
    check_topic_model(load_config(config))  # a usable model: no error


def test_bad_label_rows_are_listed_by_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "text,topic,label\nbus tea,financing,yes\n,financing,no\nbus,money,yes\nbus,*,maybe\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["model", "train", "--config", str(config), "--labels", str(labels)])
    assert done.exit_code == 1
    assert isinstance(done.exception, InputError)
    assert str(done.exception) == f"{labels}: 3 bad rows (fix them and train again)"
    assert done.stderr.splitlines() == [
        f"{labels}:3: text is empty (give the post's text, or drop the row)",
        f"{labels}:4: topic 'money' is unknown (use one of designated_org, glorification, "
        "recruitment, incitement, instruction, financing, perpetrator_content, or * for any)",
        f"{labels}:5: label 'maybe' is not yes, no or unsure",
    ]
    labels.write_text("text,label\nbus,yes\n", encoding="utf-8")
    done = runner.invoke(app, ["model", "train", "--config", str(config), "--labels", str(labels)])
    assert (
        str(done.exception) == f"{labels}: no column topic (the header must name text,topic,label)"
    )


def test_no_labels_or_too_few_positives_write_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("text,topic,label\nbus tea,financing,unsure\n", encoding="utf-8")
    done = runner.invoke(app, ["model", "train", "--config", str(config), "--labels", str(labels)])
    assert str(done.exception) == (
        f"no yes/no labels in {labels} (label a review sample, or give --labels FILE.csv)"
    )
    assert "skipped 1 labels: unsure" in done.stderr
    write_labels(labels, examples(positives=4))
    done = runner.invoke(
        app,
        ["model", "train", "--config", str(config), "--labels", str(labels), "--format", "json"],
    )
    assert str(done.exception) == (
        "no topic has 10 positive and 10 negative labels; nothing written "
        "(label more posts, or lower --min-positives)"
    )
    rows = {r["topic"]: r for r in json.loads(done.stdout)}
    assert rows["financing"]["note"] == "4 positive labels, needs at least 10"
    assert not (tmp_path / "models").exists()
    bare = write_config(tmp_path, "{}")
    done = runner.invoke(app, ["model", "train", "--config", str(bare), "--labels", str(labels)])
    assert "classifier.model is not set" in str(done.exception)


def test_config_keys_and_the_start_check(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "{topics: either}"))
    assert info.value.problems == [
        f"{tmp_path / 'p.yaml'}: classifier.model: topics: either needs a trained model (set "
        "classifier.model to the folder `vemeter model train` writes, or use topics: lexicon)"
    ]
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "{topics: all, model: m}"))
    assert "classifier.topics: input should be 'lexicon', 'model' or 'either'" in str(info.value)
    # The folder need not exist yet (train writes it), but a crawl or import checks it first.
    cfg = load_config(write_config(tmp_path, "{topics: model, model: models/topics}"))
    assert cfg.classifier.model_dir(cfg.path.parent) == tmp_path / "models" / "topics"
    with pytest.raises(ConfigError) as info:
        check_topic_model(cfg)
    assert info.value.problems == [
        f"{cfg.path}: classifier.model: {tmp_path / 'models' / 'topics'}: no trained model "
        "there (train one: vemeter model train --config CONFIG)"
    ]
    TopicModel.fit(examples()).save(tmp_path / "models" / "topics")
    meta_file = tmp_path / "models" / "topics" / MODEL_FILE
    meta_file.write_text(json.dumps(json.loads(meta_file.read_text()) | {"sklearn": "0.1"}))
    with pytest.raises(ConfigError, match=r"trained with scikit-learn 0\.1, this is"):
        check_topic_model(cfg)


def test_errors_reach_the_terminal_as_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "{topics: model, model: nowhere}")
    done = vemeter("model", "show", "--config", str(config))  # through main(), the boundary
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {config.resolve()}: classifier.model: {tmp_path / 'nowhere'}: no trained model "
        "there (train one: vemeter model train --config CONFIG)\n"
    )


def add_reviews(
    engine: Engine, posts: list[tuple[str | None, list[tuple[str, str, str, bool]]]]
) -> None:
    """Posts with (reviewer, topic, label, adjudication) labels, in one review sample."""
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    PostWriter(engine, run).write([
        PostRecord("vk", "s", "club1", f"-1_{i}", WHEN, "en", "Latn", 0.9, False, True, text=text)
        for i, (text, _) in enumerate(posts)
    ])  # fmt: skip
    with Session(engine) as session:
        sample = ReviewSample(
            kind="prevalence", project="p", config_hash="h", created_at=WHEN, since=None,
            until=WHEN, by_keys="platform", seed=1, size=len(posts), design={},
        )  # fmt: skip
        session.add(sample)
        session.flush()
        for i, (_, labels) in enumerate(posts):
            item = ReviewItem(
                sample_id=sample.id, post_pk=i + 1, position=i, cell="{}", stratum="low",
                stratum_size=10, stratum_views=None, inclusion_probability=0.5, draws=1,
                views=None, double_label=False, settled=False,
            )  # fmt: skip
            session.add(item)
            session.flush()
            session.add_all(
                ReviewLabel(
                    item_id=item.id,
                    reviewer=reviewer,
                    topic=topic,
                    label=label,
                    note=None,
                    adjudication=adjudication,
                    created_at=WHEN,
                )
                for reviewer, topic, label, adjudication in labels
            )
        session.commit()


def test_review_labels_resolve_into_examples(engine: Engine) -> None:
    add_reviews(engine, [
        ("tea bridge", [("r1", "*", "no", False), ("r2", "*", "no", False)]),
        ("bus donation", [("r1", "financing", "yes", False), ("r2", "financing", "no", False)]),
        ("bus receipt", [("r1", "financing", "yes", False), ("r2", "financing", "no", False),
                         ("a", "financing", "yes", True)]),
        ("river", [("r1", "financing", "unsure", False)]),
        (None, [("r1", "financing", "yes", False)]),
        ("garden transfer", [("r1", "*", "yes", False)]),
    ])  # fmt: skip
    found = review_examples(engine)
    assert sorted(found.examples, key=lambda e: e.text) == [
        TrainingExample("bus receipt", "financing", True),
        TrainingExample("garden transfer", None, True),
        TrainingExample("tea bridge", None, False),
    ]
    assert dict(found.skipped) == {"disputed": 1, "unsure": 1, "text no longer stored": 1}


def test_train_from_the_database_by_default(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    add_reviews(engine, [(e.text, [("r1", "financing", "yes" if e.label else "no", False)])
                         for e in examples()])  # fmt: skip
    engine.dispose()
    done = runner.invoke(app, ["model", "train", "--config", str(config), "--format", "csv"])
    assert done.exit_code == 0, done.output
    rows = {r["topic"]: r for r in csv.DictReader(done.stdout.splitlines())}
    assert (rows["financing"]["status"], rows["financing"]["positives"]) == ("trained", "40")
    assert TopicModel.load(tmp_path / "models" / "topics").labels == ("financing",)


@pytest.mark.e2e  # trains on the whole shipped corpus (~10 s)
def test_the_starter_model_trains_without_labels_and_says_so(tmp_path: Path) -> None:
    """On the shipped corpus: figures per language, a model that records what it was trained on."""
    config = write_config(tmp_path)
    done = runner.invoke(
        app, ["model", "train", "--starter", "--config", str(config), "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    languages = {r["language"] for r in rows if r["topic"] == "financing"}
    assert {"ru", "kk", "all"} <= languages
    assert {r["topic"] for r in rows} >= {"financing", "recruitment", "incitement"}
    model = TopicModel.load(tmp_path / "models" / "topics")
    assert model.trained_on.startswith("starter:") and "no review labels" in model.trained_on
    # The starter's own settings unless told otherwise (review-label training: best F1).
    from classifiers.starter import STARTER_PARAMS

    assert model.params.threshold_for == "precision"
    assert (model.params.min_precision, model.params.c, model.params.gate) == (
        STARTER_PARAMS.min_precision, STARTER_PARAMS.c, STARTER_PARAMS.gate,
    )  # fmt: skip
    assert STARTER_PARAMS.gate > 0 and STARTER_PARAMS.c > TrainParams().c
    shown = runner.invoke(app, ["model", "show", "--config", str(config)])
    assert "no review labels" in " ".join(shown.stdout.split())
    both = runner.invoke(
        app, ["model", "train", "--starter", "--labels", "x.csv", "--config", str(config)]
    )
    assert isinstance(both.exception, InputError) and "not both" in str(both.exception)
