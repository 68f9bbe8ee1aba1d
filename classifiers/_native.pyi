"""Types of the C counting loops (classifiers/_native.c)."""

from typing import Any

def walk_scores(
    data: bytes,
    lengths: Any,
    nextmove: Any,
    states: Any,
    ptc: Any,
    pc: Any,
    scores: Any,
) -> None: ...
def ngram_tfidf(
    codes: Any,
    lengths: Any,
    rank: Any,
    keys: Any,
    columns: Any,
    first: Any,
    idf: Any,
    bits: int,
    min_n: int,
    max_n: int,
    sublinear: bool,
    l2: bool,
) -> tuple[bytes, bytes, bytes]: ...
def evasion_hints(text: str) -> int: ...
def split_words(text: str) -> list[str]: ...

SOURCE_SHA256: str

def first_in(text: str, bitmap: bytes) -> int: ...
def script_letters(text: str) -> tuple[int, int, int]: ...
def split_marked(text: str, table: dict[str, int]) -> tuple[list[str], bytes]: ...
