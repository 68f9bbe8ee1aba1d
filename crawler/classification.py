"""Check a project's classifier settings before a crawl, turning lexicon problems into config errors.

The classifier itself is built in the writer process (see crawler/storing.py), so the crawling
process never loads the language model.
"""

from __future__ import annotations

from classifiers import DEFAULT_LEXICON_DIR, LexiconError, LexiconTagger, load_lexicons
from crawler.config import ProjectConfig
from crawler.errors import ConfigError


def check_lexicons(config: ProjectConfig) -> LexiconTagger:
    """Load the project's lexicons once; a broken file is reported as `file: key.path: problem`."""
    try:
        return LexiconTagger(load_lexicons(config.lexicon_paths() or [DEFAULT_LEXICON_DIR]))
    except LexiconError as exc:
        raise ConfigError(str(exc).splitlines()) from None


def check_classifiers(config: ProjectConfig) -> None:
    """Before a crawl or import: lexicons load and the configured topic model is usable here."""
    from crawler.model_cli import check_topic_model

    check_lexicons(config)
    check_topic_model(config)
