"""The shipped lexicons' compiled tagger, kept on disk between processes.

Compiling the shipped lexicons (some 4,700 terms, 21,000 spellings, two automata) takes
1.3-1.8 s, and every writer process, pool worker and `vemeter classify` used to pay it; loading
the compiled tagger takes about 0.3 s. The file's name is a digest of everything the tagger is
made from: the lexicon and content files, the shared configs (context words, ordinary words),
and the source of the `classifiers` package, so a change to any of them is a new file. A file
that cannot be read or written is ignored (the tagger is built as before).

The files sit in the folder py3langid's unpacked model uses (fast_langid.model_cache_dir:
$VEMETER_CACHE_DIR, else $XDG_CACHE_HOME/vemeter, else ~/.cache/vemeter); deleting it is always
safe. Only taggers of the shipped files are kept.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from classifiers.fast_langid import model_cache_dir

__all__ = ["load", "shipped", "store"]

_PACKAGE = Path(__file__).resolve().parent
_CONFIGS = _PACKAGE.parent / "configs"


def shipped(paths: list[Path]) -> bool:
    """Whether every path is one of the shipped config folders or files."""
    return all(_CONFIGS in Path(path).resolve().parents for path in paths)


@functools.cache
def _code_digest() -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for file in sorted([*_PACKAGE.glob("*.py"), *_CONFIGS.glob("*.yaml")]):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.digest()


def _path(key: tuple[object, ...]) -> Path | None:
    try:
        folder = model_cache_dir()
        name = hashlib.blake2b(repr(key).encode() + _code_digest(), digest_size=16).hexdigest()
    except (OSError, RuntimeError):  # no home folder to keep it in
        return None
    return folder / f"tagger-{name}.pickle"


def load(key: tuple[object, ...], kind: type) -> Any | None:
    """The tagger stored for key, or None (not stored, unreadable, or not a `kind`)."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            tagger = pickle.load(fh)
    except Exception:  # a truncated or foreign file: build instead
        return None
    return tagger if isinstance(tagger, kind) else None


def store(key: tuple[object, ...], tagger: object) -> None:
    """Keep tagger for the next process; silently nothing if the folder is not writable."""
    path = _path(key)
    if path is None:
        return
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
            temporary = Path(fh.name)
            pickle.dump(tagger, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # whole or not at all, whatever runs beside it
    except (OSError, pickle.PicklingError):
        if temporary is not None:
            temporary.unlink(missing_ok=True)
