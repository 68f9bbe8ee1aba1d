"""Check a project's classifier settings before a crawl, turning lexicon problems into config errors.

The classifier itself is built in the writer process (see crawler/storing.py), so the crawling
process never loads the language model.
"""

from __future__ import annotations

from pathlib import Path

from classifiers import DEFAULT_LEXICON_DIR, LexiconError, load_lexicons
from crawler.config import ProjectConfig
from crawler.errors import ConfigError


def model_folder(config: ProjectConfig) -> Path | None:
    """The configured model folder, resolved against the config file's folder."""
    return config.classifier.model_dir(config.path.parent)


def check_topic_model(config: ProjectConfig) -> None:
    """Before a crawl or import: the configured model is there and loadable here, or a ConfigError."""
    folder = model_folder(config)
    if folder is None:
        return
    # Imported only now: scikit-learn costs a second of start-up that lexicon-only runs skip.
    from classifiers.topic_model import TopicModelError, check_folder

    try:
        check_folder(folder)
    except TopicModelError as exc:
        raise ConfigError([f"{config.path}: classifier.model: {exc}"]) from None


def check_lexicons(config: ProjectConfig) -> None:
    """Load the project's lexicons once; a broken file is reported as `file: key.path: problem`.

    Loading validates every term; the matcher is compiled where posts are classified (the
    writer processes), not here: compiling it again in this process cost ~1 s per run.
    """
    try:
        load_lexicons(config.lexicon_paths() or [DEFAULT_LEXICON_DIR])
    except LexiconError as exc:
        raise ConfigError(str(exc).splitlines()) from None


def check_classifiers(config: ProjectConfig) -> None:
    """Before a crawl or import: lexicons load and the configured topic model is usable here."""
    check_lexicons(config)
    check_topic_model(config)
