"""py3langid with its byte-by-byte tokenizer walk replaced by NumPy, per text or per batch."""

from __future__ import annotations

import functools
import lzma
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from py3langid import langid as _langid

from classifiers.native import NATIVE

_native: ModuleType | None = NATIVE  # the C counting loops (classifiers.native)

__all__ = ["FastLanguageIdentifier", "new_py3langid", "release_shared_model"]

# A batch is walked in chunks of at most this many bytes and texts: the walk's arrays then stay
# within L2 cache (measured fastest from 4 to 16 KiB), memory is bounded whatever the batch,
# and (text, feature) keys fit in int32 (4,096 texts x 100,053 features < 2**31).
_CHUNK_BYTES = 1 << 14
# The C walk (classifiers/_native.c) keeps no per-byte arrays: larger chunks save NumPy calls
# per chunk (measured 1 us/post less at 256 KiB than at 16 KiB).
_C_CHUNK_BYTES = 1 << 18
_CHUNK_TEXTS = 1 << 12


class FastLanguageIdentifier(_langid.LanguageIdentifier):  # type: ignore[misc]
    """py3langid's identifier with the byte-by-byte tokenizer walk replaced by a NumPy one.

    Scores are summed in float64 (the library: float32) so that classify() and classify_many(),
    which add the same terms in a different order, agree to ~1e-12 instead of ~1e-4.
    """

    def distribution(self, text: str) -> Any:
        """Probability of each class of nb_classes (aliases merged into the first) for one text."""
        weights = np.asarray(self._weights(self._encode(text)), dtype=np.float64)
        return weights / weights.sum()

    def distribution_many(self, texts: Sequence[str]) -> Any:
        """(texts x nb_classes) distribution() of each text, from one walk per chunk."""
        parts = [self._weights_many(chunk) for chunk in self._chunks(texts)]
        if not parts:
            return np.zeros((0, len(self.nb_classes)), dtype=np.float64)
        weights = np.vstack(parts)
        return weights / weights.sum(axis=1, keepdims=True)

    def classify(self, text: str) -> tuple[str, float]:
        """Best language and its probability, calibrated exactly as py3langid's norm_probs."""
        weights = self._weights(self._encode(text))
        best = max(range(len(weights)), key=weights.__getitem__)
        return self.nb_classes[best], weights[best] / sum(weights)

    def _weights(self, data: bytes) -> list[float]:
        # On 15 scores plain floats beat a dozen tiny NumPy calls (library: _decide).
        scores = self._raw_score(data).tolist()
        scale = 1.0 / math.sqrt(len(data) or 1)
        top = max(scores)
        weights = [math.exp((score - top) * scale) for score in scores]
        for first, duplicate in self._alias_pairs:
            weights[first] += weights[duplicate]
            weights[duplicate] = 0.0
        return weights

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """classify() of each text, with the NumPy work done once per chunk of the batch."""
        results: list[tuple[str, float]] = []
        for chunk in self._chunks(texts):
            weights = self._weights_many(chunk)
            best = weights.argmax(axis=1)  # the first maximum, as max() in classify()
            probability = weights[np.arange(len(chunk)), best] / weights.sum(axis=1)
            classes = self.nb_classes
            results.extend(
                (classes[i], p) for i, p in zip(best.tolist(), probability.tolist(), strict=True)
            )
        return results

    def _chunks(self, texts: Sequence[str]) -> list[list[bytes]]:
        encoded = [self._encode(text) for text in texts]
        tables = _tables(self.tk_nextmove, self.tk_row, self.tk_output)
        most = _C_CHUNK_BYTES if _native is not None and _fits_c(self, tables) else _CHUNK_BYTES
        chunks: list[list[bytes]] = []
        start = 0
        while start < len(encoded):
            stop, size = start + 1, len(encoded[start])
            limit = min(len(encoded), start + _CHUNK_TEXTS)
            while stop < limit and size + len(encoded[stop]) <= most:
                size += len(encoded[stop])
                stop += 1
            chunks.append(encoded[start:stop])
            start = stop
        return chunks

    def _weights_many(self, encoded: list[bytes]) -> Any:
        # The same normalisation as _weights(), one row per text.
        scores = self._raw_scores(encoded)
        lengths = np.fromiter((len(data) or 1 for data in encoded), np.float64, len(encoded))
        scale = (1.0 / np.sqrt(lengths))[:, None]
        weights = np.exp((scores - scores.max(axis=1, keepdims=True)) * scale)
        for first, duplicate in self._alias_pairs:
            weights[:, first] += weights[:, duplicate]
            weights[:, duplicate] = 0.0
        return weights

    def _raw_score(self, data: bytes) -> Any:
        tables = _tables(self.tk_nextmove, self.tk_row, self.tk_output)
        if _native is not None and _fits_c(self, tables):
            return self._raw_scores([data])[0]
        codes = np.frombuffer(data, dtype=np.uint8).astype(np.intp)
        features = tables[2][_walk(tables, codes, None)]
        features = features[features >= 0]
        if not features.size:
            return np.zeros(len(self.nb_classes), dtype=np.float64)
        index, counts = np.unique(features, return_counts=True)
        # np.take on rows is about twice as fast as fancy indexing for a few hundred rows.
        rows = np.take(self.nb_ptc, index, axis=0)
        return np.log1p(counts.astype(np.float64)) @ rows + self.nb_pc

    def _raw_scores(self, encoded: list[bytes]) -> Any:
        """(texts x languages) scores of a batch: _raw_score() of each text, from one walk."""
        tables = _tables(self.tk_nextmove, self.tk_row, self.tk_output)
        if _native is not None and _fits_c(self, tables):
            scores = np.empty((len(encoded), len(self.nb_classes)), dtype=np.float64)
            lengths64 = np.fromiter(map(len, encoded), np.int64, len(encoded))
            _native.walk_scores(
                b"".join(encoded), lengths64, tables[0], _state_pairs(tables),
                self.nb_ptc, self.nb_pc, scores,
            )  # fmt: skip
            return scores
        return self._raw_scores_numpy(encoded, tables)

    def _raw_scores_numpy(self, encoded: list[bytes], tables: tuple[Any, Any, Any, int]) -> Any:
        """_raw_scores() in whole-array NumPy passes (when the C loops are not built)."""
        count = len(encoded)
        lengths = np.fromiter(map(len, encoded), np.intp, count)
        codes = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.intp)
        owner = np.repeat(np.arange(count, dtype=np.intp), lengths)
        # Each byte's offset within its own text: the walk must not look back past it.
        offsets = np.arange(codes.size, dtype=np.intp) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        features = tables[2][_walk(tables, codes, offsets)]
        found = features >= 0
        # One sort of (text, feature) keys counts every text's features at once.
        width = self.nb_ptc.shape[0]
        # int32 keys sort ~2x faster than int64; they fit for any chunk of this model.
        kind = np.int32 if count * width < 2**31 else np.int64
        keys, counts = np.unique(
            owner[found].astype(kind) * width + features[found].astype(kind), return_counts=True
        )
        text = keys // width
        terms = np.log1p(counts.astype(np.float64))[:, None] * np.take(
            self.nb_ptc, keys - text * width, axis=0
        )
        # Keys are sorted by text, so each text's terms are one contiguous run to sum; the
        # runs start where the text number changes (no second sort, as np.unique would do).
        starts = np.empty(text.size, dtype=bool)
        starts[:1] = True
        np.not_equal(text[1:], text[:-1], out=starts[1:])
        first = np.flatnonzero(starts)
        present = text[first]
        # A text with no features scores all zeros, as in _raw_score() and py3langid.
        scores = np.zeros((count, len(self.nb_classes)), dtype=np.float64)
        if present.size:
            scores[present] = np.add.reduceat(terms, first, axis=0) + self.nb_pc
        return scores


_PAIRS: dict[int, Any | None] = {}


def _state_pairs(tables: tuple[Any, Any, Any, int]) -> Any:
    """(states x 2) int32: each state's row start and output feature, for the C walk (one
    cache line per step instead of two arrays'); built once per loaded model."""
    key = id(tables[0])
    if key not in _PAIRS:
        rows, features = tables[1], tables[2]
        fits = rows.size == features.size and max(
            int(rows.max(initial=0)), int(features.max(initial=0))
        ) < (1 << 31)
        pairs = np.empty((rows.size, 2), dtype=np.int32) if fits else None
        if pairs is not None:
            pairs[:, 0] = rows
            pairs[:, 1] = features
        _PAIRS[key] = pairs  # None: the values do not fit, the NumPy walk runs
    return _PAIRS[key]


def _fits_c(identifier: FastLanguageIdentifier, tables: tuple[Any, Any, Any, int]) -> bool:
    """Whether the C loop takes these arrays as they are (new_py3langid's always are)."""
    ptc, pc = identifier.nb_ptc, identifier.nb_pc
    return bool(
        tables[0].dtype == np.uint32
        and tables[1].dtype == np.int64
        and tables[2].dtype == np.int64
        and _state_pairs(tables) is not None
        and isinstance(ptc, np.ndarray)
        and ptc.dtype == np.float32
        and ptc.flags.c_contiguous
        and isinstance(pc, np.ndarray)
        and pc.dtype == np.float64
        and pc.flags.c_contiguous
        and ptc.ndim == 2
        and ptc.shape[1] == pc.size == len(identifier.nb_classes)
    )


def _walk(tables: tuple[Any, Any, Any, int], codes: Any, offsets: Any | None) -> Any:
    """The tokenizer DFA's state after each byte, for one text or (with offsets) many."""
    # The tokenizer is an Aho-Corasick DFA of depth D, so the state after byte i depends
    # only on bytes i-D+1..i: walking D steps for all positions at once gives the same
    # states as the library's per-byte Python loop in about half the time. Concatenated
    # texts add a guard: step `back` moves position i only if i is at least `back` bytes
    # into its own text, so no state sees bytes of the text before.
    nextmove, rowbase, _, depth = tables
    size = codes.size
    states = np.zeros(size, dtype=np.intp)
    for back in range(depth - 1, -1, -1):
        if size <= back:
            continue
        moved = nextmove[rowbase[states[back:]] + codes[: size - back]]
        if offsets is None or back == 0:
            states[back:] = moved
        else:
            np.copyto(states[back:], moved, where=offsets[back:] >= back)
    return states


def new_py3langid(languages: Sequence[str]) -> FastLanguageIdentifier:
    """An identifier restricted to `languages`, sharing the process's loaded model."""
    ptc, pc, classes, nextmove, row, output = _model()
    identifier = FastLanguageIdentifier(
        np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row
    )
    identifier.set_languages(list(languages))
    # float16 -> float32 is exact; rows are widened to float64 only once selected, which keeps
    # the resident matrix at half the size of a float64 copy.
    identifier.nb_ptc = np.ascontiguousarray(identifier.nb_ptc, dtype=np.float32)
    identifier.nb_pc = np.asarray(identifier.nb_pc, dtype=np.float64)
    # The full 97-language matrix (28 MB) is only needed to widen the set again, which
    # vemeter never does; dropping it here lets release_shared_model() free it.
    identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    return identifier


def release_shared_model() -> None:
    """Free the loaded full model once identifiers exist (long-running processes: ~60 MB less).

    Identifiers built later load it again (~0.6 s).
    """
    _model.cache_clear()


_FIELDS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


@functools.cache
def _model() -> tuple[Any, ...]:
    """py3langid's model, read as py3langid's own load_model does but without its copies.

    The library ships it LZMA-compressed (~0.6 s to read): the first process unpacks it once
    into the user's cache folder (model_cache_dir) and every later one maps those arrays
    read-only, in ~10 ms, sharing the pages with the other processes that map them (the
    crawl's and import's writers). Without a writable cache folder it is unpacked in memory.
    The library turns the 39 MB transition table into an array.array (a second copy while it
    loads); the NumPy fast path needs only the NumPy array.
    """
    folder = _cache_folder()
    if folder is not None and folder.is_dir():
        try:
            arrays = [np.load(folder / f"{name}.npy", mmap_mode="r") for name in _FIELDS]
        except (OSError, ValueError):  # damaged: unpacked again below, and replaced
            shutil.rmtree(folder, ignore_errors=True)
            arrays = []
        if arrays:
            return _fields(arrays)
    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(_langid.MODEL_DIR / _langid.MODEL_FILE) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        with np.load(tmp, allow_pickle=False) as data:
            arrays = [data[name] for name in _FIELDS]
    if folder is not None:
        _save(folder, arrays)
    return _fields(arrays)


def _fields(arrays: list[Any]) -> tuple[Any, ...]:
    ptc, pc, classes, nextmove, row, output = arrays
    return ptc, pc, classes.tolist(), nextmove, row.tolist(), output


def model_cache_dir() -> Path:
    """Where unpacked models are kept: $VEMETER_CACHE_DIR, else $XDG_CACHE_HOME/vemeter, else
    ~/.cache/vemeter. Deleting it is always safe."""
    if explicit := os.environ.get("VEMETER_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vemeter"


def _cache_folder() -> Path | None:
    """This model file's folder in the cache, named by the file's size and time (a new
    py3langid release gets a new folder); None without a home to put it in."""
    source = _langid.MODEL_DIR / _langid.MODEL_FILE
    try:
        stat = source.stat()
        root = model_cache_dir()
    except (OSError, RuntimeError):
        return None
    return root / f"py3langid-{stat.st_size}-{stat.st_mtime_ns}"


def _save(folder: Path, arrays: list[Any]) -> None:
    """Write the arrays to folder atomically (a temporary folder renamed); failures are fine."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
        for name, array in zip(_FIELDS, arrays, strict=True):
            np.save(staging / f"{name}.npy", array, allow_pickle=False)
        try:
            staging.rename(folder)
        except OSError:  # another process got there first
            shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        return


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
    return moves, rows << 8, np.asarray(output, dtype=np.intp), _cached_depth(moves, rows)


def _cached_depth(moves: Any, rows: Any) -> int:
    """_dfa_depth, kept next to the unpacked model (the only model these tables are for)."""
    folder = _cache_folder()
    saved = folder / "dfa_depth.txt" if folder is not None and folder.is_dir() else None
    if saved is not None:
        try:
            return int(saved.read_text(encoding="ascii"))
        except (OSError, ValueError):
            pass
    depth = _dfa_depth(moves, rows)
    if saved is not None:
        try:
            staging = saved.with_name(f".dfa_depth.{os.getpid()}")
            staging.write_text(str(depth), encoding="ascii")
            staging.replace(saved)
        except OSError:
            pass
    return depth


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
