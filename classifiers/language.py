"""Language and script identification for short posts, tuned for Central Asian languages."""

from __future__ import annotations

import functools
import hashlib
import lzma
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Any, Literal

import numpy as np
from py3langid import langid as _langid

__all__ = ["DEFAULT_LANGUAGES", "Engine", "LanguageIdentifier", "LanguageResult"]

Engine = Literal["py3langid", "langdetect"]

# The crawl's targets plus their usual confusers (tt, az, tr, uk, ba): without the confusers
# Tatar or Bashkir posts would be forced into kk/ky/ru (see the langid evaluation notes).
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en", "tt", "az", "tr", "uk", "ba",
)  # fmt: skip

UNDETERMINED = "und"

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


def _keep_only(keep: bytes) -> bytes:
    return bytes(code for code in range(256) if code not in keep)


# Script counts come from UTF-8 lead bytes: a C-speed bytes.translate per script instead of a
# regex pass. Lead bytes D0-D4 are U+0400-U+053F (Cyrillic), D8-DB and DD are the Arabic
# blocks, C3-C9 Latin-1 to Latin Extended-B plus the ASCII letters.
_SCRIPT_BYTES: tuple[tuple[str, bytes], ...] = (
    ("Cyrl", _keep_only(bytes(range(0xD0, 0xD5)))),
    ("Latn", _keep_only(bytes([*range(65, 91), *range(97, 123), *range(0xC3, 0xCA)]))),
    ("Arab", _keep_only(bytes([*range(0xD8, 0xDC), 0xDD]))),
)


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """The language code (ISO 639-1, or "und"), the dominant script and the probability."""

    language: str
    script: str | None
    probability: float


class LanguageIdentifier:
    """Identify the language of a post with py3langid restricted to the crawl's languages."""

    name = "language"

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        engine: Engine = "py3langid",
        min_letters: int = 3,
    ) -> None:
        self.languages: tuple[str, ...] = tuple(languages or DEFAULT_LANGUAGES)
        self.engine: Engine = engine
        self.min_letters = min_letters
        self.labels = self.languages
        self._py3: Any = None
        self._prior: dict[str, float] = {}
        if engine == "py3langid":
            self._py3 = _new_py3langid(self.languages)
        elif engine == "langdetect":
            known = set(_langdetect_factory().get_lang_list())
            usable = [code for code in self.languages if code in known]
            if not usable:
                raise ValueError(f"langdetect knows none of the languages {self.languages}")
            # A prior of zero keeps langdetect inside the crawl's language set, like set_languages.
            self._prior = dict.fromkeys(usable, 1.0)
        else:
            raise ValueError(f"unknown language engine {engine!r} (use py3langid or langdetect)")
        self.version = _version(engine, self.languages, min_letters)

    def identify(self, text: str) -> LanguageResult:
        """Return the language, script and probability of one post."""
        if any(hint in text for hint in _NOISE_HINTS):
            text = _NOISE_RE.sub(" ", text)
        text = text.replace("#", " ")
        if not _has_letters(text, self.min_letters):
            return LanguageResult(UNDETERMINED, _script(text), 0.0)
        if self._py3 is not None:
            language, probability = self._py3.classify(text)
        else:
            language, probability = self._langdetect(text)
        return LanguageResult(str(language), _script(text), float(probability))

    def _langdetect(self, text: str) -> tuple[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = _langdetect_factory().create()
        detector.set_prior_map(self._prior)
        detector.append(text)
        try:
            best = detector.get_probabilities()[0]
        except (LangDetectException, IndexError):
            return UNDETERMINED, 0.0
        # langdetect's only region-tagged codes are zh-cn/zh-tw; the project uses bare ISO 639-1.
        return str(best.lang).split("-")[0], float(best.prob)


def _has_letters(text: str, needed: int) -> bool:
    count = 0
    # Stop at the first words that reach the threshold: almost every post passes at once.
    for match in _LETTERS_RE.finditer(text):
        count += match.end() - match.start()
        if count >= needed:
            return True
    return count >= needed


def _script(text: str) -> str | None:
    data = text.encode("utf-8", errors="surrogatepass")
    counts = [(len(data.translate(None, others)), code) for code, others in _SCRIPT_BYTES]
    count, code = max(counts)
    return code if count else None


def _version(engine: str, languages: tuple[str, ...], min_letters: int) -> str:
    base = f"{engine}@{package_version(engine)}"
    if set(languages) == set(DEFAULT_LANGUAGES) and min_letters == 3:
        return base
    # Non-default settings change the output, so they must show in the stored version.
    settings = f"{sorted(languages)}|{min_letters}".encode()
    return f"{base}+{hashlib.sha256(settings).hexdigest()[:8]}"


class _FastLanguageIdentifier(_langid.LanguageIdentifier):  # type: ignore[misc]
    """py3langid's identifier with the byte-by-byte tokenizer walk replaced by a NumPy one."""

    def classify(self, text: str) -> tuple[str, float]:
        """Best language and its probability, calibrated exactly as py3langid's norm_probs."""
        data = self._encode(text)
        # On 15 scores plain floats beat a dozen tiny NumPy calls (library: _decide).
        scores = self._raw_score(data).tolist()
        scale = 1.0 / math.sqrt(len(data) or 1)
        top = max(scores)
        weights = [math.exp((score - top) * scale) for score in scores]
        for first, duplicate in self._alias_pairs:
            weights[first] += weights[duplicate]
            weights[duplicate] = 0.0
        best = max(range(len(weights)), key=weights.__getitem__)
        return self.nb_classes[best], weights[best] / sum(weights)

    def _raw_score(self, data: bytes) -> Any:
        # The tokenizer is an Aho-Corasick DFA of depth D, so the state after byte i depends
        # only on bytes i-D+1..i: walking D steps for all positions at once gives the same
        # states as the library's per-byte Python loop in about half the time.
        nextmove, rowbase, output, depth = _tables(self.tk_nextmove, self.tk_row, self.tk_output)
        codes = np.frombuffer(data, dtype=np.uint8).astype(np.intp)
        size = codes.size
        states = np.zeros(size, dtype=np.intp)
        for back in range(depth - 1, -1, -1):
            if size > back:
                states[back:] = nextmove[rowbase[states[back:]] + codes[: size - back]]
        features = output[states]
        features = features[features >= 0]
        if not features.size:
            return np.zeros(len(self.nb_classes), dtype=np.float32)
        index, counts = np.unique(features, return_counts=True)
        # np.take on rows is about twice as fast as fancy indexing for a few hundred rows.
        rows = np.take(self.nb_ptc, index, axis=0)
        return np.log1p(counts.astype(np.float32)) @ rows + self.nb_pc


def _new_py3langid(languages: Sequence[str]) -> _FastLanguageIdentifier:
    ptc, pc, classes, nextmove, row, output = _model()
    identifier = _FastLanguageIdentifier(
        np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row
    )
    identifier.set_languages(list(languages))
    # float16 -> float32 is exact and makes the score product ~1.5x faster (BLAS).
    identifier.nb_ptc = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
    # The full 97-language matrix (28 MB) is only needed to widen the set again, which
    # vemeter never does; dropping it here lets release_shared_model() free it.
    identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    return identifier


def release_shared_model() -> None:
    """Free the loaded full model once identifiers exist (long-running processes: ~60 MB less).

    Identifiers built later load it again (~0.6 s).
    """
    _model.cache_clear()


@functools.cache
def _model() -> tuple[Any, ...]:
    """py3langid's model, read as py3langid's own load_model does but without its copies.

    Loading takes ~0.6 s, so it happens once per process; instances only slice it. The
    library turns the 39 MB transition table into an array.array (a second copy while it
    loads); the NumPy fast path needs only the NumPy array, so the load peaks ~40 MB lower.
    """
    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(_langid.MODEL_DIR / _langid.MODEL_FILE) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        with np.load(tmp, allow_pickle=False) as data:
            return (
                data["ptc"], data["pc"], data["classes"].tolist(), data["nextmove"],
                data["nextmove_row"].tolist(), data["out_feat"],
            )  # fmt: skip


_TABLES: dict[int, tuple[Any, Any, Any, int]] = {}


def _tables(nextmove: Any, row: Any, output: Any) -> tuple[Any, Any, Any, int]:
    """NumPy views of an identifier's tokenizer DFA, built once per loaded model."""
    cached = _TABLES.get(id(nextmove))
    if cached is None:
        cached = _TABLES[id(nextmove)] = _build_tables(nextmove, row, output)
    return cached


def _build_tables(nextmove: Any, row: Any, output: Any) -> tuple[Any, Any, Any, int]:
    # A zero-copy view: widening the 10M-entry table to intp would cost ~80 MB and cache misses.
    moves = np.asarray(nextmove)
    rows = np.asarray(row, dtype=np.intp)
    return moves, rows << 8, np.asarray(output, dtype=np.intp), _dfa_depth(moves, rows)


def _dfa_depth(moves: Any, rows: Any) -> int:
    """Depth of the deepest DFA state, found breadth-first from the start state (~0.3 s once)."""
    table = moves.reshape(-1, 256)
    seen = np.zeros(rows.size, dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.intp)
    depth = 0
    while True:
        # In slices: one gather of a whole level is ~50 MB, which glibc then keeps for good.
        level = np.unique(rows[frontier])
        parts = [np.unique(table[level[i : i + 1024]]) for i in range(0, level.size, 1024)]
        reached = np.unique(np.concatenate(parts)) if parts else level[:0]
        frontier = reached[~seen[reached]]
        if not frontier.size:
            return depth
        seen[frontier] = True
        depth += 1


@functools.cache
def _langdetect_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    # langdetect samples randomly; a fixed seed makes stored labels reproducible.
    factory.set_seed(0)
    return factory
