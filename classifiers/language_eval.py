"""Accuracy of language identification on the project's evaluation posts: per-language P/R/F1."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALL_LABELS",
    "EVAL_DIR",
    "REAL_EVAL",
    "TARGETS",
    "VARIANTS",
    "EvalPost",
    "Score",
    "first_chars",
    "first_words",
    "load_posts",
    "py3langid_baseline",
    "score",
    "variant_text",
]

# The nine languages the crawl must identify; the confusers (tt az tr uk ba) only count as
# wrong answers when a target is predicted for them.
TARGETS: tuple[str, ...] = ("ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en")
ALL_LABELS: tuple[str, ...] = (*TARGETS, "tt", "az", "tr", "uk", "ba")
VARIANTS: tuple[str, ...] = ("full", "short40", "words3")
EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "langid"
# Real sentences (software strings, news, wiki, literature) from projects and corpora that the
# short-text model never saw in training; `split` alternates dev/test (see its README.md).
REAL_EVAL = EVAL_DIR / "real_eval.jsonl"

_WORD_RE = re.compile(r"\S+")
_LETTER_RE = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class EvalPost:
    """One hand-written evaluation post with its expected language and script."""

    id: str
    lang: str
    script: str | None
    text: str
    source: str
    split: str
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Precision, recall and F1 per target language, their macro average and the row count."""

    per_language: dict[str, tuple[float, float, float]]
    macro_f1: float
    rows: int
    produced: frozenset[str] = field(default_factory=frozenset)


def load_posts(path: Path | None = None) -> list[EvalPost]:
    """Read the evaluation posts; a malformed line raises ValueError naming the line."""
    path = path or EVAL_DIR / "posts.jsonl"
    posts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            post = EvalPost(
                id=row["id"], lang=row["lang"], script=row["script"], text=row["text"],
                source=row["source"], split=row["split"], variant=row.get("variant"),
            )  # fmt: skip
            posts.append(post)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}: line {number}: {exc!r} (each line: a JSON object with id, lang, "
                "script, text, source, split)"
            ) from exc
    return posts


def first_chars(text: str, limit: int = 40) -> str:
    """At most `limit` characters, cut before a partial word (a whole long word is kept cut)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace() and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip()


def first_words(text: str, count: int = 3) -> str:
    """The first `count` words: tokens with a letter, skipping @mentions and links."""
    words = [
        token
        for token in _WORD_RE.findall(text)
        if _LETTER_RE.search(token) and not token.startswith(("@", "http", "www."))
    ]
    return " ".join(words[:count])


def variant_text(text: str, variant: str) -> str:
    """The text of a post as the given variant: full, short40 or words3."""
    if variant == "full":
        return text
    if variant == "short40":
        return first_chars(text)
    if variant == "words3":
        return first_words(text)
    raise ValueError(f"unknown variant {variant!r} (use one of {', '.join(VARIANTS)})")


def score(gold: Sequence[str], predicted: Sequence[str], targets: Iterable[str] = TARGETS) -> Score:
    """P/R/F1 per target and macro-F1; a prediction of `und` is simply wrong for a target."""
    targets = tuple(targets)
    per_language = {}
    for language in targets:
        pairs = list(zip(gold, predicted, strict=True))
        hits = sum(1 for g, p in pairs if g == p == language)
        said = sum(1 for _, p in pairs if p == language)
        true = sum(1 for g, _ in pairs if g == language)
        precision = hits / said if said else 0.0
        recall = hits / true if true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        per_language[language] = (precision, recall, f1)
    macro = sum(f1 for _, _, f1 in per_language.values()) / len(targets)
    return Score(per_language, macro, len(gold), frozenset(predicted))


def evaluate(
    posts: Sequence[EvalPost], predict: Callable[[list[str]], Sequence[str]], variant: str
) -> Score:
    """Score `predict` (texts -> language codes) on the given variant of each post."""
    texts = [variant_text(post.text, variant) for post in posts]
    return score([post.lang for post in posts], list(predict(texts)))


def py3langid_baseline() -> Callable[[list[str]], list[str]]:
    """py3langid restricted to DEFAULT_LANGUAGES alone, the baseline identifiers must beat.

    The same noise stripping and `und` under 3 letters as LanguageIdentifier; no letter
    rules, no short-text model, no priors.
    """
    from classifiers.fast_langid import new_py3langid
    from classifiers.language import DEFAULT_LANGUAGES, _has_letters, _strip_noise

    model = new_py3langid(DEFAULT_LANGUAGES)

    def predict(texts: list[str]) -> list[str]:
        stripped = [_strip_noise(text) for text in texts]
        usable = [_has_letters(text, 3) for text in stripped]
        found = iter(model.classify_many([t for t, ok in zip(stripped, usable, strict=True) if ok]))
        return [str(next(found)[0]) if ok else "und" for ok in usable]

    return predict


def channel_priors(
    posts: Sequence[EvalPost], identify: Callable[[list[str]], Sequence[tuple[str, float, int]]]
) -> list[dict[str, float] | None]:
    """Each post's prior from the other posts of its source (never its own label or text).

    `identify` maps full texts to (language, probability, letters); only long, confident
    answers are counted, as SourcePriors does in a crawl.
    """
    from classifiers.language_prior import SourcePriors

    found = list(identify([post.text for post in posts]))
    priors: list[dict[str, float] | None] = []
    for k, post in enumerate(posts):
        tally = SourcePriors()
        for j, other in enumerate(posts):
            if j != k and other.source == post.source:
                tally.observe(post.source, *found[j])
        priors.append(tally.prior(post.source))
    return priors
