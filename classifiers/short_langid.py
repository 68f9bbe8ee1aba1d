"""A small character n-gram model for short posts, added to py3langid's scores.

py3langid is trained on long, general text; on three-word posts it confuses ru/uk, tg/uz and
tt/ba/ky. This model is a linear classifier (logistic loss) over hashed character 1-4-grams,
trained on 1-6-word windows of real sentences of the project's 14 languages (software strings,
news, legal and encyclopaedic text; see classifiers/short_langid_train.py). LanguageIdentifier
adds its log-probabilities, weighted, to py3langid's for posts of few letters.

Everything is batched: a batch is one UTF-32 array, its n-gram keys are hashed with NumPy and
each text's score is a sum of gathered weight rows, so a three-word text costs a few
microseconds (~40 us for a batch of one).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODEL_FILE", "NgramHasher", "ShortTextModel", "load_short_model"]

MODEL_FILE = Path(__file__).resolve().parent / "data" / "short_langid.npz"
# Model file layout; a file of another format is refused instead of being misread.
FORMAT = 1

# Code points at or above this are boundaries (emoji, CJK, symbols): none of the 14 languages
# needs them. Below it the model's table maps each code point to a letter class (> 0), a
# boundary (0: spaces, punctuation, digits of no script) or -1: dropped (combining marks,
# bidi and joiner controls except ZWNJ, which Persian writes inside words).
TABLE_SIZE = 0x3000
# Bits per character class in an n-gram key; 4-grams plus the order tag fit in 64 bits.
CLASS_BITS = 9
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Batches are scored in chunks of about this many characters: bounded memory, int32 indices.
_CHUNK_CHARS = 1 << 14


class NgramHasher:
    """Hashed character n-gram counts of texts, as a (texts x buckets + 1) sparse matrix.

    Texts are lower-cased and each is padded with one boundary on both sides; runs of
    boundaries count as one. Column `buckets` (the last) collects the n-grams that would run
    past the end of their text: it is a zero row of the weights, so every position can emit
    one entry per order and the matrix needs no masking.
    """

    def __init__(self, table: Any, bits: int, orders: Sequence[int]) -> None:
        self.table = np.asarray(table, dtype=np.int16)  # [TABLE_SIZE]: class per code point
        if self.table.shape != (TABLE_SIZE,) or self.table[-1] != 0:
            raise ValueError(f"the character table needs {TABLE_SIZE} entries, the last 0")
        if self.table.max() >= 1 << CLASS_BITS:
            raise ValueError(f"the character table has more than {1 << CLASS_BITS} classes")
        self.bits = bits
        self.orders = tuple(orders)
        self.buckets = 1 << bits
        longest = max(self.orders)
        # (longest x orders) multipliers: key = sum of class j << CLASS_BITS * (order-1-j).
        self._packing = np.zeros((longest, len(self.orders)), dtype=np.int64)
        for k, order in enumerate(self.orders):
            for j in range(order):
                self._packing[j, k] = 1 << (CLASS_BITS * (order - 1 - j))
        self._order_tags = np.array(self.orders, dtype=np.int64)

    def classes(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """Each kept character's class, boundaries collapsed, and how many each text kept.

        Every text keeps at least one position (a boundary), so no text has length 0.
        """
        lowered = [text.lower() for text in texts]
        joined = "".join(f" {text} " for text in lowered)
        points = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
        lengths = np.fromiter((len(text) + 2 for text in lowered), np.intp, len(lowered))
        owner = np.repeat(np.arange(len(lowered), dtype=np.intp), lengths)
        # The table's last entry (U+2FFF, unassigned) is a boundary, like everything above it.
        classes = self.table[np.minimum(points, TABLE_SIZE - 1)]
        kept = classes >= 0
        classes, owner = classes[kept].astype(np.int64), owner[kept]
        boundary = classes == 0
        repeat = np.zeros(classes.size, dtype=bool)
        repeat[1:] = boundary[1:] & boundary[:-1] & (owner[1:] == owner[:-1])
        if repeat.any():
            classes, owner = classes[~repeat], owner[~repeat]
        return classes, np.bincount(owner, minlength=len(lowered))

    def columns(self, classes: Any, lengths: Any) -> Any:
        """(positions x orders) bucket of the n-gram starting at each position.

        An n-gram's key packs its classes CLASS_BITS apiece plus its order; the bucket is the
        top `bits` of the key times a 64-bit odd constant (Fibonacci hashing). An n-gram that
        would run past the end of its text gets the extra column `buckets` instead.
        """
        size, longest = classes.size, max(self.orders)
        padded = np.zeros(size + longest - 1, dtype=np.int64)
        padded[:size] = classes
        # Row i is padded[i : i + longest] (a strided view, no copy).
        windows = np.ndarray((size, longest), np.int64, padded, strides=(8, 8))
        keys = windows @ self._packing  # one key per (position, order), as a small matmul
        tagged = (keys * 8 + self._order_tags).view(np.uint64)
        hashed = ((tagged * _GOLDEN) >> np.uint64(64 - self.bits)).astype(np.int32)
        # Positions left in the text from each position on (texts are contiguous runs).
        left = np.repeat(np.cumsum(lengths), lengths) - np.arange(size)
        return np.where(left[:, None] >= self._order_tags, hashed, np.int32(self.buckets))

    def matrix(self, texts: Sequence[str]) -> Any:
        """CSR counts, one row per text and one entry per (position, order) (for training)."""
        import scipy.sparse as sp

        count = len(texts)
        classes, lengths = self.classes(texts)
        columns = self.columns(classes, lengths)
        per_text = lengths * len(self.orders)
        pointers = np.zeros(count + 1, dtype=np.int32)
        np.cumsum(per_text, out=pointers[1:])
        data = np.ones(columns.size, dtype=np.float32)
        return sp.csr_matrix(
            (data, columns.ravel(), pointers), shape=(count, self.buckets + 1), copy=False
        )


class ShortTextModel:
    """Log-probabilities of the model's languages for each text (see the module docstring)."""

    def __init__(
        self,
        hasher: NgramHasher,
        languages: Sequence[str],
        weights: Any,
        bias: Any,
        classes: Sequence[str] | None = None,
        digest: str = "",
    ) -> None:
        self.hasher = hasher
        self.languages: tuple[str, ...] = tuple(languages)
        # Training classes: the languages first, then extra classes of one of them ("uz-Cyrl"),
        # whose probability is added to their language's.
        self.classes: tuple[str, ...] = tuple(classes or languages)
        if self.classes[: len(self.languages)] != self.languages:
            raise ValueError(f"classes {self.classes} must start with languages {self.languages}")
        self._extra = [
            (self.languages.index(label.split("-")[0]), column)
            for column, label in enumerate(self.classes)
            if column >= len(self.languages)
        ]
        # One extra zero row: the column of n-grams that run past their text.
        self.weights = np.vstack(
            [np.asarray(weights, dtype=np.float32), np.zeros((1, len(self.classes)), np.float32)]
        )
        self.bias = np.asarray(bias, dtype=np.float64)
        self.digest = digest

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ShortTextModel:
        """Read a model written by classifiers/short_langid_train.py."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"{path}: model format {int(data['format'])}, expected {FORMAT}")
            hasher = NgramHasher(
                data["table"],
                int(data["bits"]),
                tuple(int(order) for order in data["orders"]),
            )
            weights = data["weights"].astype(np.float32) * np.float32(data["scale"])
            # The digest of what the model computes, not of the file (zip entries carry dates).
            digest = hashlib.sha256()
            names = ("languages", "classes", "table", "bits", "orders", "weights", "scale", "bias")
            for name in names:
                digest.update(np.ascontiguousarray(data[name]).tobytes())
            return cls(
                hasher, [str(code) for code in data["languages"]], weights, data["bias"],
                [str(label) for label in data["classes"]], digest.hexdigest()[:8],
            )  # fmt: skip

    def scores(self, texts: Sequence[str]) -> Any:
        """(texts x languages) scores: the logits, a language's classes merged (log-sum-exp)."""
        logits = self.class_scores(texts)
        if not self._extra:
            return logits
        merged = logits[:, : len(self.languages)].copy()
        for language, column in self._extra:
            merged[:, language] = np.logaddexp(merged[:, language], logits[:, column])
        return merged

    def class_scores(self, texts: Sequence[str]) -> Any:
        """(texts x classes) raw linear scores (logits)."""
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float64)
        sizes = np.fromiter(map(len, texts), np.intp, len(texts))
        if sizes.sum() <= _CHUNK_CHARS:
            return self._sums(texts) + self.bias  # float32 + float64 -> float64
        # Chunks of about _CHUNK_CHARS characters (a longer text is a chunk of its own).
        ends = np.cumsum(sizes)
        parts, start = [], 0
        while start < len(texts):
            stop = max(
                start + 1,
                int(np.searchsorted(ends, ends[start] - sizes[start] + _CHUNK_CHARS, "right")),
            )
            parts.append(self._sums(texts[start:stop]))
            start = stop
        return np.vstack(parts) + self.bias

    def _sums(self, texts: Sequence[str]) -> Any:
        """(texts x classes) summed weights of each text's n-grams: counts @ weights.

        A gather and a per-text sum rather than a sparse product: the same arithmetic, but
        without scipy's per-call checks, which cost more than the work on a single post.
        """
        classes, lengths = self.hasher.classes(texts)
        columns = self.hasher.columns(classes, lengths).ravel()
        rows = np.take(self.weights, columns, axis=0)
        # One run of len(orders) rows per position, and every text has a position.
        return np.add.reduceat(rows, (np.cumsum(lengths) - lengths) * len(self.hasher.orders))

    def log_probabilities(self, texts: Sequence[str]) -> Any:
        """(texts x languages) log-softmax of the scores."""
        scores = self.scores(texts)
        top = scores.max(axis=1, keepdims=True) if len(texts) else 0.0
        shifted = scores - top
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@functools.cache
def load_short_model() -> ShortTextModel:
    """The shipped model, loaded once per process (about 4 MB resident)."""
    return ShortTextModel.load()
