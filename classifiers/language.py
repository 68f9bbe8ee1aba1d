"""Language and script identification for short posts, tuned for Central Asian languages.

py3langid restricted to the crawl's languages scores every post; posts of fewer than
SHORT_LETTERS letters also get the scores of a small character n-gram model trained on short
windows of real sentences in these languages (classifiers/short_langid.py), which lifts
three-word macro-F1 on held-out real sentences from 96.7 % to 98.7 % (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Any, Literal

import numpy as np

from classifiers.fast_langid import FastLanguageIdentifier, new_py3langid, release_shared_model
from classifiers.language_prior import Prior, SourcePriors
from classifiers.language_rules import LetterEvidence, script_counts, segments
from classifiers.short_langid import ShortTextModel, load_short_model

__all__ = [
    "DEFAULT_LANGUAGES",
    "Engine",
    "LanguageIdentifier",
    "LanguageResult",
    "Prior",
    "SourcePriors",
    "release_shared_model",
]

Engine = Literal["py3langid", "langdetect"]

# The crawl's targets plus their usual confusers (tt, az, tr, uk, ba): without the confusers
# Tatar or Bashkir posts would be forced into kk/ky/ru (see the langid evaluation notes).
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en", "tt", "az", "tr", "uk", "ba",
)  # fmt: skip

UNDETERMINED = "und"
# Bumped whenever the rules around the model change what is stored (it is part of `version`).
RULES_VERSION = "3"

# Posts with fewer letters than this add the short-text model's log-probabilities, times
# SHORT_WEIGHT, to py3langid's (a weighted product of the two distributions). Longer posts
# are py3langid's alone: it is right on ~99.9 % of them, and the short model would cost time.
# All three were chosen on the dev halves of tests/data/langid (real_eval.jsonl, posts.jsonl).
SHORT_LETTERS = 40
SHORT_WEIGHT = 0.25
# The short model's log-probabilities are floored here, so that on its own it can lower a
# language by at most SHORT_WEIGHT * 8 = 2 nats (7.4x): less than a channel prior's 3.9 nats
# (1 / PRIOR_FLOOR), and it never overrules a confident py3langid on text it has not seen the
# like of (e.g. Russian posts about ayran and suzma, which it calls Kyrgyz).
SHORT_FLOOR = -8.0

# Below this probability the model is "unsure" and the letter evidence gets a say.
UNSURE_BELOW = 0.9
# A letter the language never writes multiplies its probability by this.
LETTER_PENALTY = 0.01
# A source prior weighs in on posts with fewer letters than this, or when the model is unsure.
PRIOR_LETTERS = 30
# Floor added to each prior share, so that a language the source never used stays possible.
PRIOR_FLOOR = 0.02
# Mixed posts: lines or sentences of at least this many letters are identified one by one,
# and a language counts as present from this share of the post's identified letters. Only
# posts in two scripts, or multi-line posts the model is not sure of, are split: splitting
# every post would halve the speed, and single-line same-script mixes are rare.
SEGMENT_LETTERS = 20
MIN_SHARE = 0.2
SPLIT_BELOW = 0.999

# URLs, e-mail addresses and @mentions are mostly Latin-script noise that says nothing about
# the language of the post, so they are removed before counting letters or identifying.
_NOISE_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,}/\S*"
    r"|\S+@\S+\.\w+"
    r"|(?<!\w)@\w+",
    re.IGNORECASE,
)
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_NOISE_HINTS = ("/", "@", "www.", "WWW.")


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """The language code (ISO 639-1, or "und"), the dominant script and the probability.

    `languages` lists every language found in the post with its share of the letters,
    dominant first: one entry for a single-language post, none for "und".
    """

    language: str
    script: str | None
    probability: float
    languages: tuple[tuple[str, float], ...] = ()


@functools.cache
def _undetermined(script: str | None) -> LanguageResult:
    return LanguageResult(UNDETERMINED, script, 0.0)


class LanguageIdentifier:
    """Identify the language of a post with py3langid restricted to the crawl's languages."""

    name = "language"

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        engine: Engine = "py3langid",
        min_letters: int = 3,
    ) -> None:
        self.languages: tuple[str, ...] = tuple(dict.fromkeys(languages or DEFAULT_LANGUAGES))
        self.engine: Engine = engine
        self.min_letters = min_letters
        self.labels = self.languages
        self._py3: FastLanguageIdentifier | None = None
        self._columns: Any = None
        self._short: ShortTextModel | None = None
        self._short_columns: Any = None
        self._prior: dict[str, float] = {}
        if engine == "py3langid":
            self._py3 = new_py3langid(self.languages)
            classes = list(self._py3.nb_classes)
            # The model's classes in the identifier's order (an alias column is merged into
            # the first of its name by the model).
            self._columns = np.array([classes.index(code) for code in self.languages])
            short = load_short_model()
            # The short model only knows its own 14 languages: a list with others (a crawl
            # that adds e.g. "de") is identified by py3langid alone.
            if set(self.languages) <= set(short.languages):
                self._short = short
                self._short_columns = np.array([short.languages.index(c) for c in self.languages])
        elif engine == "langdetect":
            known = set(_langdetect_factory().get_lang_list())
            usable = [code for code in self.languages if code in known]
            if not usable:
                raise ValueError(f"langdetect knows none of the languages {self.languages}")
            # A prior of zero keeps langdetect inside the crawl's language set, like set_languages.
            self._prior = dict.fromkeys(usable, 1.0)
        else:
            raise ValueError(f"unknown language engine {engine!r} (use py3langid or langdetect)")
        self._letters = LetterEvidence(self.languages, LETTER_PENALTY)
        self._index = {code: i for i, code in enumerate(self.languages)}
        # The tally behind identify_many(..., sources=...): it lives as long as the identifier.
        self.source_priors = SourcePriors()
        self.version = _version(engine, self.languages, min_letters, self._short)

    def identify(
        self, text: str, prior: Prior | None = None, source: Hashable | None = None
    ) -> LanguageResult:
        """Return the language, script and probability of one post (see identify_many)."""
        return self._identify([text], [prior], [source], batch=False)[0]

    def identify_many(
        self,
        texts: Sequence[str],
        priors: Sequence[Prior | None] | None = None,
        sources: Sequence[Hashable | None] | None = None,
    ) -> list[LanguageResult]:
        """identify() of each text, with the model run once over the whole batch (~3x faster).

        `priors` gives each text an expected language mix (e.g. {"ky": 0.8, "ru": 0.2}); with
        `sources` (a key per text, e.g. (platform, source)) the identifier keeps its own tally
        of each source's confident posts, this batch included, and uses it as the prior.
        Either only changes short posts or posts the model is unsure about.
        """
        count = len(texts)
        return self._identify(
            texts, list(priors) if priors else [None] * count,
            list(sources) if sources else [None] * count, batch=True,
        )  # fmt: skip

    def _identify(
        self,
        texts: Sequence[str],
        priors: list[Prior | None],
        sources: list[Hashable | None],
        batch: bool,
    ) -> list[LanguageResult]:
        if not len(priors) == len(sources) == len(texts):
            raise ValueError("priors and sources need one entry per text (None for no prior)")
        stripped = [_strip_noise(text) for text in texts]
        wanted = [i for i, text in enumerate(stripped) if _has_letters(text, self.min_letters)]
        counts = [script_counts(text) for text in stripped]
        found = self._distributions(
            [stripped[i] for i in wanted], [counts[i][1] for i in wanted], batch
        )
        # Placeholders until decided, shared (the results are frozen): a frozen dataclass's
        # __init__ costs more than a dict read, and the wanted posts get their own below.
        results = [_undetermined(count[0]) for count in counts]
        letters = {i: counts[i][1] for i in wanted}
        rows = {i: found[row] for row, i in enumerate(wanted)}
        # Most posts are confident: settle those from whole-batch argmax/max, no per-row NumPy.
        best = found.argmax(axis=1).tolist() if len(wanted) else []
        top = found.max(axis=1).tolist() if len(wanted) else []
        for row, i in enumerate(wanted):
            if top[row] >= UNSURE_BELOW and (priors[i] is None or letters[i] >= PRIOR_LETTERS):
                code = self.languages[best[row]]
                results[i] = LanguageResult(code, counts[i][0], top[row], ((code, 1.0),))
            else:
                results[i] = self._decide(
                    stripped[i], found[row], priors[i], letters[i], counts[i][0]
                )
        # Worth splitting: two scripts with a real share each, or several uncertain lines.
        split = [
            i for row, i in enumerate(wanted) if letters[i] >= 2 * SEGMENT_LETTERS and (
                counts[i][2] >= MIN_SHARE * letters[i]
                or ("\n" in stripped[i] and top[row] < SPLIT_BELOW)
            )
        ]  # fmt: skip
        if any(source is not None for source in sources):
            tally = self.source_priors
            for i in wanted:
                if sources[i] is not None:
                    result = results[i]
                    tally.observe(sources[i], result.language, result.probability, letters[i])
            for row, i in enumerate(wanted):
                # A long post the model is sure of keeps its answer whatever the prior says
                # (as in _decide): skip the tally lookup for almost every post.
                if sources[i] is None or (top[row] >= UNSURE_BELOW and letters[i] >= PRIOR_LETTERS):
                    continue
                source_prior = tally.prior(sources[i])
                if source_prior is not None:
                    mixed = _mix(priors[i], source_prior)
                    results[i] = self._decide(
                        stripped[i], found[row], mixed, letters[i], counts[i][0]
                    )
        return self._add_mixed(stripped, results, split, rows, batch)

    def _distributions(self, texts: list[str], letters: list[int], batch: bool) -> Any:
        """(texts x languages) model probabilities; an all-zero row means no answer."""
        if self._py3 is None:
            rows = [self._langdetect(text) for text in texts]
            return np.array(rows).reshape(len(texts), len(self.languages))
        if batch:
            found = self._py3.distribution_many(texts)[:, self._columns]
        else:
            rows = [self._py3.distribution(text)[self._columns] for text in texts]
            found = np.array(rows).reshape(len(texts), len(self.languages))
        if self._short is not None:
            short = [row for row, count in enumerate(letters) if count < SHORT_LETTERS]
            if short:
                found[short] = self._with_short([texts[row] for row in short], found[short])
        return found

    def _with_short(self, texts: list[str], found: Any) -> Any:
        """py3langid's distributions times the short model's to the power SHORT_WEIGHT."""
        assert self._short is not None
        # The short model's softmax over the identifier's languages only, like set_languages.
        scores = self._short.scores(texts)[:, self._short_columns]
        scores -= scores.max(axis=1, keepdims=True)
        log_short = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        log_short = np.maximum(log_short, SHORT_FLOOR)
        combined = np.log(np.maximum(found, 1e-300)) + SHORT_WEIGHT * log_short
        combined -= combined.max(axis=1, keepdims=True)
        weights = np.exp(combined)
        return weights / weights.sum(axis=1, keepdims=True)

    def _decide(
        self, text: str, row: Any, prior: Prior | None, letters: int, script: str | None
    ) -> LanguageResult:
        best = int(row.argmax())
        if row[best] <= 0.0:
            return LanguageResult(UNDETERMINED, script, 0.0)
        weights = row
        if row[best] < UNSURE_BELOW:
            factors = self._letters.factors(text)
            if factors is not None:
                weights = weights * factors
        if prior is not None and (letters < PRIOR_LETTERS or row[best] < UNSURE_BELOW):
            weights = weights * self._prior_factors(prior)
        if weights is not row:
            total = float(weights.sum())
            weights = row if total <= 0.0 else weights / total
            best = int(weights.argmax())
        language = self.languages[best]
        probability = float(weights[best])
        return LanguageResult(language, script, probability, ((language, 1.0),))

    def _prior_factors(self, prior: Prior) -> Any:
        shares = np.zeros(len(self.languages))
        for code, weight in prior.items():
            if code in self._index and weight > 0:
                shares[self._index[code]] = weight
        total = shares.sum()
        return (shares / total if total else shares) + PRIOR_FLOOR

    def _add_mixed(
        self,
        texts: list[str],
        results: list[LanguageResult],
        split: list[int],
        whole: dict[int, Any],
        batch: bool,
    ) -> list[LanguageResult]:
        """Fill `languages` of posts whose lines or sentences are in different languages."""
        parts: list[str] = []
        owners: list[int] = []
        for i in split:
            pieces = segments(texts[i], SEGMENT_LETTERS)
            if len(pieces) > 1:
                parts.extend(pieces)
                owners.extend([i] * len(pieces))
        if not parts:
            return results
        counts = [script_counts(part) for part in parts]
        found = self._distributions(parts, [count[1] for count in counts], batch)
        shares: dict[int, dict[str, int]] = {}
        for row, (i, part) in enumerate(zip(owners, parts, strict=True)):
            script, letters, _ = counts[row]
            decided = self._decide(part, found[row], None, letters, script)
            if decided.language != UNDETERMINED:
                tally = shares.setdefault(i, {})
                tally[decided.language] = tally.get(decided.language, 0) + letters
        for i, tally in shares.items():
            total = sum(tally.values())
            present = {code: n / total for code, n in tally.items() if n / total >= MIN_SHARE}
            if len(present) < 2:
                continue
            kept = sum(present.values())
            ranked = sorted(present.items(), key=lambda item: (-item[1], item[0]))
            dominant = ranked[0][0]
            # The whole post's probability of the dominant language, from the same model.
            probability = float(whole[i][self._index[dominant]])
            results[i] = LanguageResult(
                dominant, results[i].script, probability,
                tuple((code, round(share / kept, 3)) for code, share in ranked),
            )  # fmt: skip
        return results

    def _langdetect(self, text: str) -> list[float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = _langdetect_factory().create()
        detector.set_prior_map(self._prior)
        detector.append(text)
        row = [0.0] * len(self.languages)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return row
        for guess in found:
            # langdetect's only region-tagged codes are zh-cn/zh-tw; the project uses ISO 639-1.
            code = str(guess.lang).split("-")[0]
            if code in self._index:
                row[self._index[code]] += float(guess.prob)
        return row


def _mix(given: Prior | None, tallied: Prior) -> Prior:
    if given is None:
        return tallied
    # An explicit prior (e.g. from the config) and the tally count half each.
    total_given = sum(given.values()) or 1.0
    codes = set(given) | set(tallied)
    return {c: given.get(c, 0.0) / total_given + tallied.get(c, 0.0) for c in codes}


def _strip_noise(text: str) -> str:
    if any(hint in text for hint in _NOISE_HINTS):
        text = _NOISE_RE.sub(" ", text)
    return text.replace("#", " ")


def _has_letters(text: str, needed: int) -> bool:
    count = 0
    # Stop at the first words that reach the threshold: almost every post passes at once.
    for match in _LETTERS_RE.finditer(text):
        count += match.end() - match.start()
        if count >= needed:
            return True
    return count >= needed


def _version(
    engine: str, languages: tuple[str, ...], min_letters: int, short: ShortTextModel | None
) -> str:
    base = f"{engine}@{package_version(engine)}+rules{RULES_VERSION}"
    if short is not None:
        # The shipped model file's digest: retraining it changes the stored version too.
        base += f"+short.{short.digest}"
    if set(languages) == set(DEFAULT_LANGUAGES) and min_letters == 3:
        return base
    # Non-default settings change the output, so they must show in the stored version.
    settings = f"{sorted(languages)}|{min_letters}".encode()
    return f"{base}+{hashlib.sha256(settings).hexdigest()[:8]}"


@functools.cache
def _langdetect_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    # langdetect samples randomly; a fixed seed makes stored labels reproducible.
    factory.set_seed(0)
    return factory
