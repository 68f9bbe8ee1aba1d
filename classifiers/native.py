"""The C loops of classifiers/_native.c, when they are built from the source beside them.

setup.py builds the extension where a C compiler exists (optional: without one the install goes
on and each caller runs its NumPy or regular-expression equivalent, which gives the same
results). A build is stamped with its source's SHA-256: an extension left over from an older
source (an edit whose rebuild failed or was not run) is not used, with one warning, instead of
silently computing what the old code computed.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from types import ModuleType

__all__ = ["NATIVE", "load"]

SOURCE = Path(__file__).with_name("_native.c")


def load(source: Path = SOURCE) -> ModuleType | None:
    """The extension module, or None when it is not built or was built from other source."""
    try:
        from classifiers import _native
    except ImportError:
        return None
    if source.exists():  # an installed wheel carries only the build; a checkout both
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if getattr(_native, "SOURCE_SHA256", None) != digest:
            warnings.warn(
                f"{_native.__file__} was built from another version of {source.name}: using "
                "the slower Python loops; rebuild it with `make .venv/bin/vemeter` or "
                "`pip install -e .`",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
    return _native


NATIVE = load()
