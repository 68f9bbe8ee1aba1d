"""`vemeter model`: train the topic model (on review labels, or the starter corpus) and show what a trained one knows."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from classifiers.base import TOPICS
from crawler.classification import model_folder
from crawler.commands.output import Format, render
from crawler.config import load_config
from crawler.errors import ConfigError, InputError

if TYPE_CHECKING:
    from classifiers.topic_model import TopicModel, TopicReport, TrainParams
    from crawler.config import ProjectConfig

model_app = typer.Typer(help="Train and inspect the topic model.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

COLUMNS = [
    "topic", "status", "positives", "negatives", "threshold",
    "precision", "recall", "f1", "average_precision", "note",
]  # fmt: skip


class ThresholdFor(StrEnum):
    f1 = "f1"
    precision = "precision"


ConfigOpt = Annotated[Path, typer.Option("--config", help="Project config (YAML).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def report_rows(reports: tuple[TopicReport, ...]) -> list[dict[str, Any]]:
    def num(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return [
        {
            "topic": r.topic, "status": r.status, "positives": r.positives,
            "negatives": r.negatives, "threshold": num(r.threshold), "precision": num(r.precision),
            "recall": num(r.recall), "f1": num(r.f1), "average_precision": num(r.average_precision),
            "note": r.reason,
        }
        for r in reports
    ]  # fmt: skip


def _ngrams(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d)-(\d)", value.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]) <= 8:
        raise typer.BadParameter(f"{value!r} is not a range like 3-5 (1 to 8)")
    return int(match[1]), int(match[2])


@model_app.command("train")
def train(
    config: ConfigOpt,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="CSV with columns text,topic,label (yes/no/unsure); default: the review labels "
            "stored in the project's database.",
        ),
    ] = None,
    starter: Annotated[
        bool,
        typer.Option(
            "--starter",
            help="Before any review label: train on the shipped synthetic corpus, with the "
            "lexicon labelling real background sentences (weak supervision); prints "
            "cross-validated figures per topic and language.",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Model folder to write (default: classifier.model)."),
    ] = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    min_positives: Annotated[
        int, typer.Option(min=2, help="Labels of each class a topic needs to be trained.")
    ] = 10,
    threshold_for: Annotated[
        ThresholdFor | None,
        typer.Option(
            help="Choose each topic's threshold for the best F1, or for precision "
            "(default: f1; precision with --starter).",
            show_default=False,
        ),
    ] = None,
    min_precision: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Precision to reach with --threshold-for precision (default: 0.9; 0.875 with --starter).",
            show_default=False,
        ),
    ] = None,
    ngrams: Annotated[str, typer.Option(help="Character n-gram lengths, e.g. 3-5.")] = "3-5",
    fmt: FormatOpt = Format.table,
) -> None:
    """Train the topic model and print cross-validated precision and recall per topic. Example: vemeter model train --config configs/example.yaml"""
    from classifiers.topic_model import TrainParams

    low, high = _ngrams(ngrams)
    cfg = load_config(config)
    folder = output or model_folder(cfg)
    if folder is None:
        raise InputError(
            f"{config}: classifier.model is not set (set it to a folder, or give --output DIR)"
        )
    if starter and labels is not None:
        raise InputError("--starter trains without labels: give --starter or --labels, not both")
    # The starter's settings (classifiers.starter.STARTER_PARAMS): thresholds at a
    # cross-validated precision, weaker regularisation and the any-topic gate, chosen on the
    # blind sets (classifiers/data/starter/README.md); review labels start from the defaults.
    if starter:
        from classifiers.starter import STARTER_PARAMS

        base = STARTER_PARAMS
    else:
        base = TrainParams()
    params = dataclasses.replace(
        base, folds=folds, min_positives=min_positives, ngram_min=low, ngram_max=high,
        threshold_for=(threshold_for.value if threshold_for else base.threshold_for),
        min_precision=base.min_precision if min_precision is None else min_precision,
    )  # fmt: skip
    if starter:
        model = _train_starter(cfg, params, fmt)
    else:
        model = _train_on_labels(cfg, labels, params, fmt)
    for note in model.skipped:
        err.print(f"skipped {note}", highlight=False)
    if not model.labels:
        need = max(min_positives, folds)
        raise InputError(
            f"no topic has {need} positive and {need} negative labels; nothing written "
            "(label more posts, or lower --min-positives)"
        )
    model.save(folder)
    err.print(
        f"wrote {folder} ({model.tag}, {len(model.labels)} of {len(TOPICS)} topics, trained on "
        f"{model.trained_on}); flag posts with it: classifier.topics: model or either",
        highlight=False,
    )


def _train_on_labels(
    cfg: ProjectConfig, labels: Path | None, params: TrainParams, fmt: Format
) -> TopicModel:
    from classifiers.topic_model import TopicModel, TopicModelError
    from storage.training import LabelsFileError, TrainingSet, read_labels_csv, review_examples

    data: TrainingSet
    if labels is not None:
        try:
            data = read_labels_csv(labels)
        except LabelsFileError as exc:
            for problem in exc.problems[:20]:
                err.print(problem, highlight=False, markup=False)
            raise
        where = str(labels)
    else:
        from storage.engine import open_database

        engine = open_database(cfg.database_url)
        data = review_examples(engine)
        engine.dispose()
        where = "the review labels in the database"
    for reason, count in sorted(data.skipped.items()):
        err.print(f"skipped {count:,} labels: {reason}", highlight=False)
    if not data.examples:
        raise InputError(
            f"no yes/no labels in {where} (label a review sample, or give --labels FILE.csv)"
        )
    with _progress() as advance:
        try:
            model = TopicModel.fit(data.examples, params, progress=advance)
        except TopicModelError as exc:
            raise InputError(f"{where}: {exc}") from None
    render(report_rows(model.reports), COLUMNS, fmt, title=f"topic-model@{model.version}")
    return model


def _train_starter(cfg: ProjectConfig, params: TrainParams, fmt: Format) -> TopicModel:
    from classifiers.lexicon import build_tagger
    from classifiers.starter import train_starter
    from classifiers.topic_model import TopicModelError

    tagger = build_tagger(cfg.lexicon_paths() or None)
    with _progress() as advance:
        try:
            model, figures = train_starter(
                lambda text: {m.topic for m in tagger.tag(text)},
                f"{tagger.name}@{tagger.version}",
                params,
                progress=advance,
            )
        except TopicModelError as exc:
            raise InputError(str(exc)) from None
    # One table, so that --format json|csv stays one document: each trained topic per language
    # and over all languages, at the threshold chosen for it; untrained topics say why.
    rows: list[dict[str, Any]] = [
        {
            "topic": f.topic, "language": f.lang, "positives": f.positives,
            "negatives": f.negatives, "threshold": round(model.thresholds[f.topic], 3),
            "precision": None if f.precision is None else round(f.precision, 3),
            "recall": None if f.recall is None else round(f.recall, 3), "note": "",
        }
        for f in figures
    ] + [
        {"topic": r.topic, "language": "all", "positives": r.positives, "negatives": r.negatives,
         "threshold": None, "precision": None, "recall": None, "note": r.reason}
        for r in model.reports
        if r.status != "trained" and r.topic != "designated_org"
    ]  # fmt: skip
    render(
        rows,
        ["topic", "language", "positives", "negatives", "threshold", "precision", "recall", "note"],
        fmt,
        title=f"topic-model@{model.version}: cross-validated on the synthetic corpus "
        f"({model.trained_on})",
    )
    return model


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str], None]]:
    """A bar over the topics being trained; yields the callback fit() reports each topic to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("training", total=len(TOPICS))
        yield lambda topic: bar.update(task, advance=1, description=topic)


@model_app.command("show")
def show(config: ConfigOpt, fmt: FormatOpt = Format.table) -> None:
    """Print the configured model's version and per-topic quality. Example: vemeter model show --config configs/example.yaml"""
    from classifiers.topic_model import TopicModelError, TopicReport, check_folder

    cfg = load_config(config)
    folder = model_folder(cfg)
    if folder is None:
        raise InputError(f"{config}: classifier.model is not set (train one: vemeter model train)")
    try:
        meta = check_folder(folder)
    except TopicModelError as exc:
        raise ConfigError([f"{cfg.path}: classifier.model: {exc}"]) from None
    reports = tuple(TopicReport(**r) for r in meta["topics"].values())
    render(
        report_rows(reports),
        COLUMNS,
        fmt,
        title=f"{meta['name']}@{meta['version']}, trained {meta['trained_at']} on "
        f"{meta.get('trained_on', 'review labels')}",
    )
