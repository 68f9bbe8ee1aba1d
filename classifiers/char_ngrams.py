"""The topic model's TF-IDF features of character n-grams within words, computed with NumPy.

scikit-learn's TfidfVectorizer(analyzer="char_wb") builds every n-gram as a Python string and
looks each one up in a dict: ~80% of the topic model's time per post. FastCharNgrams gives the
same matrix from a fitted vectorizer with whole-array operations: the batch's text as one array
of code points, each mapped to its rank among the vocabulary's characters; every n-gram packed
exactly into one 64-bit key (its ranks side by side, its size on top), the key of size n+1 made
from the key of size n in one shift; the vocabulary found through a table of its keys; counts
from one sort per text. Keys are exact, so two n-grams never share one; a vocabulary whose
characters are too many to pack (more than 2**(60 // max_n) - 1) is left to the vectorizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from classifiers.native import NATIVE

_native: ModuleType | None = NATIVE  # the C counting loops (classifiers.native)

__all__ = ["FastCharNgrams"]

_KEY_BITS = 60  # the packed characters; the n-gram's size goes in the 4 bits above
_SIZE_SHIFT = np.uint64(_KEY_BITS)
# A table of 2 to 4 slots per key (a power of two), each key's slot from Fibonacci hashing (its
# product with 2**64 / golden ratio, top bits). Small, so that its scattered reads stay in
# cache: 2**18 slots (1 MB) for the starter model's 133,000 keys.
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)
_UNICODE = 0x110000
# A batch's (text, n-gram) pairs are numbered in 32 bits below this many.
_NARROW_PAIRS = 1 << 32


def _slot_bits(count: int) -> int:
    return max(4, count.bit_length() + 1)


def _slots(keys: NDArray[np.uint64], bits: int) -> NDArray[np.int64]:
    return ((keys * _FIBONACCI) >> np.uint64(64 - bits)).astype(np.int64)


class FastCharNgrams:
    """transform() of a fitted char_wb TfidfVectorizer (sublinear tf, idf, l2 rows)."""

    def __init__(self, vectorizer: Any) -> None:
        self.preprocess: Callable[[str], str] = vectorizer.build_preprocessor()
        self.min_n, self.max_n = vectorizer.ngram_range
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.norm = vectorizer.norm
        self.idf: NDArray[np.float64] = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.width = len(self.idf)
        terms = list(vectorizer.vocabulary_)
        alphabet = sorted(set("".join(terms)))
        self.bits = max(1, len(alphabet).bit_length())  # ranks 1..len; 0: not in the vocabulary
        if self.bits * self.max_n > _KEY_BITS or len(alphabet) >= 1 << 16:
            raise ValueError(f"{len(alphabet)} characters: too many to pack {self.max_n}-grams")
        self.rank = np.zeros(_UNICODE, dtype=np.uint16)
        self.rank[[ord(c) for c in alphabet]] = np.arange(1, len(alphabet) + 1, dtype=np.uint16)
        keys = np.fromiter(map(self._key, terms), np.uint64, len(terms))
        columns = np.fromiter(vectorizer.vocabulary_.values(), np.int64, len(terms))
        self.slot_bits = _slot_bits(len(terms))
        slots = _slots(keys, self.slot_bits)
        order = np.argsort(slots, kind="stable")
        self.keys, self.columns = keys[order], columns[order]
        # Where each slot's keys begin in self.keys: most slots hold one key or none, so a
        # lookup is two reads instead of a binary search's seventeen.
        # Kept in 32 bits: half the memory for the lookups' scattered reads.
        self.first = np.searchsorted(slots[order], np.arange((1 << self.slot_bits) + 1)).astype(
            np.int32
        )
        self.crowding = int(np.diff(self.first).max(initial=1))
        self._columns64 = np.ascontiguousarray(self.columns, dtype=np.int64)

    def _key(self, term: str) -> int:
        key = 0
        for char in term:
            key = (key << self.bits) | int(self.rank[ord(char)])
        return (len(term) << _KEY_BITS) | key

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
        processed = list(map(self.preprocess, texts))
        if _native is not None:
            return self._transform_c(processed)
        # Each word padded with a space on both sides, as scikit-learn pads it. N-grams never
        # cross words, so all texts' padded words can sit end to end in one array.
        pieces = []
        for text in processed:
            words = text.split()
            pieces.append(" " + "  ".join(words) + " " if words else "")
        codes = np.frombuffer(
            "".join(pieces).encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32
        )
        size = codes.size
        owners = np.repeat(np.arange(count), np.fromiter(map(len, pieces), np.int64, count))
        # A padded word ends after a space that follows a letter (words hold no spaces).
        space = codes == 32
        ends = np.flatnonzero(space[1:] & ~space[:-1]) + 2
        starts = np.concatenate((np.zeros(min(1, ends.size), dtype=np.int64), ends[:-1]))
        lengths = ends - starts
        left = np.repeat(ends, lengths) - np.arange(size)  # characters from here to the word's end
        ranks = np.concatenate((self.rank[codes], np.zeros(self.max_n, np.uint16))).astype(
            np.uint64
        )
        bits = np.uint64(self.bits)
        rows: list[NDArray[np.int64]] = []
        cols: list[NDArray[np.int64]] = []
        keys = ranks[:size]
        for n in range(1, self.max_n + 1):
            if n > 1:
                keys = (keys << bits) | ranks[n - 1 : n - 1 + size]
            if n < self.min_n:
                # A word shorter than min_n is one n-gram of its own (scikit-learn's "count a
                # short word only once"); it has none of larger sizes.
                at = starts[lengths == n]
            elif n >= self.min_n:
                at = np.flatnonzero(left >= n)
            if at.size:
                index, hit = self._lookup(keys[at] | (np.uint64(n) << _SIZE_SHIFT))
                rows.append(owners[at[hit]])
                cols.append(self.columns[index[hit]])
        return self._matrix(count, rows, cols)

    def _transform_c(self, processed: list[str]) -> sparse.csr_matrix:
        """transform() by the C loop, which splits and pads the words itself: the same matrix,
        each row's columns in order of first occurrence instead of sorted (products with it
        are the same)."""
        assert _native is not None
        codes = np.frombuffer(
            "".join(processed).encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32
        )
        pieces = processed
        lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
        indptr, indices, data = _native.ngram_tfidf(
            codes, lengths, self.rank, self.keys, self._columns64, self.first, self.idf,
            self.bits, self.min_n, self.max_n, self.sublinear, self.norm == "l2",
        )  # fmt: skip
        return sparse.csr_matrix(
            (
                np.frombuffer(data, dtype=np.float64),
                np.frombuffer(indices, dtype=np.int32),
                np.frombuffer(indptr, dtype=np.int32),
            ),
            shape=(len(pieces), self.width),
        )

    def _lookup(self, values: NDArray[np.uint64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Each key's position in self.keys, and whether it is there."""
        slot = _slots(values, self.slot_bits)
        low, high = self.first[slot], self.first[slot + 1]
        index = np.minimum(low, self.keys.size - 1)
        hit = (high > low) & (self.keys[index] == values)
        for k in range(1, self.crowding):  # a slot shared by several keys: the next ones
            more = ~hit & (high - low > k)
            if not more.any():
                break
            again = low[more] + k
            found = self.keys[again] == values[more]
            index[more] = np.where(found, again, index[more])
            hit[more] = found
        return index, hit

    def _matrix(
        self, count: int, rows: list[NDArray[np.int64]], cols: list[NDArray[np.int64]]
    ) -> sparse.csr_matrix:
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        # Each (text, n-gram) pair as one number, sorted: equal pairs side by side, their run
        # the count. In 32 bits when the batch allows (a batch of 256 texts does), where NumPy
        # sorts ~2x faster than in 64; ~3x faster than scipy's COO to CSR with its duplicates.
        kind: Any = np.int64 if count * self.width >= _NARROW_PAIRS else np.uint32
        pairs: NDArray[Any] = row.astype(kind) * kind(self.width) + col.astype(kind)
        pairs.sort()
        first = np.ones(pairs.size, dtype=np.bool_)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        at = np.flatnonzero(first)
        counts = np.diff(np.append(at, pairs.size)).astype(np.float64)
        unique = pairs[at]
        owner = (unique // self.width).astype(np.int64)
        indices = (unique % self.width).astype(np.int32)
        indptr = np.searchsorted(owner, np.arange(count + 1)).astype(np.int32)
        tf = np.log(counts) + 1.0 if self.sublinear else counts
        data = tf * self.idf[indices]
        if self.norm == "l2":
            norms = np.sqrt(np.bincount(owner, weights=data * data, minlength=count))
            norms[norms == 0] = 1.0
            data /= norms[owner]
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(count, self.width))
        matrix.has_sorted_indices = True
        matrix.has_canonical_format = True
        return matrix
