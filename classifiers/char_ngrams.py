"""The topic model's TF-IDF features of character n-grams within words, computed with NumPy.

scikit-learn's TfidfVectorizer(analyzer="char_wb") builds every n-gram as a Python string and
looks each one up in a dict: ~80% of the topic model's time per post. FastCharNgrams gives the
same matrix from a fitted vectorizer: the batch's text as one array of code points, every
n-gram's 64-bit hash from a few whole-array operations, the vocabulary found by a binary search
among its terms' hashes, counts from one sort. Two different n-grams would share a hash with a
probability of about 2⁻⁴⁰ per batch; the vocabulary's own hashes are checked to be distinct
when it is built, and otherwise the vectorizer's own transform is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = ["FastCharNgrams"]

_PRIME = np.uint64(1099511628211)  # FNV-1a's, over code points instead of bytes
_SEED = np.uint64(14695981039346656037)
# 2**20 slots for a vocabulary of up to max_features (200,000) terms.
_SLOT_BITS = 20


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """MurmurHash3's finaliser: FNV leaves the top bits, which pick a lookup slot, poorly mixed."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _hash_terms(terms: Sequence[str]) -> NDArray[np.uint64]:
    """_ngram_hashes() of whole strings (each its own single n-gram)."""
    out = np.empty(len(terms), dtype=np.uint64)
    by_length: dict[int, list[int]] = {}
    for index, term in enumerate(terms):
        by_length.setdefault(len(term), []).append(index)
    for length, indices in by_length.items():
        codes = np.frombuffer(
            "".join(terms[i] for i in indices).encode("utf-32-le"), dtype=np.uint32
        ).reshape(len(indices), length)
        h = np.full(len(indices), _SEED ^ np.uint64(length), dtype=np.uint64)
        for k in range(length):
            h = (h ^ codes[:, k].astype(np.uint64)) * _PRIME
        out[indices] = _mix(h)
    return out


def _hash_at(
    codes: NDArray[np.uint64], positions: NDArray[np.int64], sizes: NDArray[np.int64], n: int
) -> NDArray[np.uint64]:
    """The hash of codes[p : p + size] for each position p and its size (at most n)."""
    h = np.full(positions.size, _SEED, dtype=np.uint64) ^ sizes.astype(np.uint64)
    last = codes.size - 1
    for k in range(n):
        step = (h ^ codes[np.minimum(positions + k, last)]) * _PRIME
        h = step if k < int(sizes.min()) else np.where(k < sizes, step, h)
    return _mix(h)


class FastCharNgrams:
    """transform() of a fitted char_wb TfidfVectorizer (sublinear tf, idf, l2 rows)."""

    def __init__(self, vectorizer: Any) -> None:
        self.preprocess: Callable[[str], str] = vectorizer.build_preprocessor()
        self.min_n, self.max_n = vectorizer.ngram_range
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.norm = vectorizer.norm
        self.idf: NDArray[np.float64] = np.asarray(vectorizer.idf_, dtype=np.float64)
        terms = list(vectorizer.vocabulary_)
        columns = np.fromiter(vectorizer.vocabulary_.values(), np.int64, len(terms))
        hashes = _hash_terms(terms)
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.columns = columns[order]
        self.width = len(self.idf)
        if np.any(self.hashes[1:] == self.hashes[:-1]):
            raise ValueError("two vocabulary terms share a hash")
        # The sorted hashes' positions by their top _SLOT_BITS bits: most slots hold one term or
        # none, so a lookup is two reads instead of a binary search's seventeen.
        slots = (self.hashes >> np.uint64(64 - _SLOT_BITS)).astype(np.int64)
        self.first = np.searchsorted(slots, np.arange((1 << _SLOT_BITS) + 1)).astype(np.int64)
        self.crowding = int(np.diff(self.first).max(initial=1))

    def _lookup(self, values: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Each hash's position among the vocabulary's, and whether it is there."""
        slot = (values >> np.uint64(64 - _SLOT_BITS)).astype(np.int64)
        low, high = self.first[slot], self.first[slot + 1]
        index = np.minimum(low, self.hashes.size - 1)
        hit = (high > low) & (self.hashes[index] == values)
        for k in range(1, self.crowding):  # a slot shared by several terms: the next ones
            more = ~hit & (high - low > k)
            if not more.any():
                break
            again = low[more] + k
            found = self.hashes[again] == values[more]
            index[more] = np.where(found, again, index[more])
            hit[more] = found
        return index, hit

    @classmethod
    def fits(cls, vectorizer: Any) -> bool:
        """Whether FastCharNgrams reproduces this vectorizer's transform."""
        return (
            getattr(vectorizer, "analyzer", None) == "char_wb"
            and getattr(vectorizer, "use_idf", False)
            and getattr(vectorizer, "norm", None) in ("l2", None)
            and not getattr(vectorizer, "binary", True)
            and getattr(vectorizer, "input", None) == "content"
            and hasattr(vectorizer, "idf_")
        )

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The (texts x vocabulary) TF-IDF matrix, as the vectorizer's transform() gives it."""
        count = len(texts)
        words = [self.preprocess(text).split() for text in texts]
        # Each word padded with a space on both sides, as scikit-learn pads it; n-grams never
        # cross words, so the words of all texts can sit end to end in one array.
        joined = "".join(" " + "  ".join(w) + " " for w in words if w)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        per_text = np.fromiter(map(len, words), np.int64, count)
        lengths = np.fromiter((len(w) + 2 for ws in words for w in ws), np.int64)
        owners = np.repeat(np.arange(count, dtype=np.int64), per_text)
        starts = np.cumsum(lengths) - lengths
        found_rows: list[NDArray[np.int64]] = []
        found_cols: list[NDArray[np.int64]] = []
        for n in range(self.min_n, self.max_n + 1):
            # Every n-gram inside a padded word; at min_n, a shorter word is one n-gram of its
            # own (scikit-learn's "count a short word only once"), and it has none at larger n.
            spans = np.maximum(lengths - n + 1, 1 if n == self.min_n else 0)
            total = int(spans.sum())
            if not total:
                continue
            ramp = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(spans) - spans, spans)
            positions = np.repeat(starts, spans) + ramp
            sizes = np.minimum(np.repeat(lengths, spans), n)
            values = _hash_at(codes, positions, sizes, n)
            index, hit = self._lookup(values)
            found_rows.append(np.repeat(owners, spans)[hit])
            found_cols.append(self.columns[index[hit]])
        return self._matrix(count, found_rows, found_cols)

    def _matrix(
        self, count: int, rows: list[NDArray[np.int64]], cols: list[NDArray[np.int64]]
    ) -> sparse.csr_matrix:
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        keys, counts = np.unique(row * self.width + col, return_counts=True)
        row, col = keys // self.width, keys % self.width
        tf = counts.astype(np.float64)
        if self.sublinear:
            tf = np.log(tf) + 1.0
        data = tf * self.idf[col]
        if self.norm == "l2":
            norms = np.sqrt(np.bincount(row, weights=data * data, minlength=count))
            norms[norms == 0] = 1.0
            data = data / norms[row]
        return sparse.csr_matrix((data, (row, col)), shape=(count, self.width))
