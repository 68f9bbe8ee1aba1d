"""Build a project's classifier from its config, turning lexicon problems into config errors."""

from __future__ import annotations

from classifiers import LexiconError, PostClassifier
from crawler.config import ProjectConfig
from crawler.errors import ConfigError


def build_classifier(config: ProjectConfig) -> PostClassifier:
    """The project's classifier; a broken lexicon file is a config problem, reported as such."""
    try:
        return PostClassifier(
            lexicon_paths=config.lexicon_paths() or None,
            languages=config.classifier.languages,
            engine=config.classifier.engine,
        )
    except (LexiconError, ValueError) as exc:
        raise ConfigError(str(exc).splitlines()) from None
