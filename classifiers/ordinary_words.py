"""Which acronyms of the lexicons are also ordinary words or names, decided by spelling dictionaries.

An acronym is matched in any case ("игил", "Iskp") unless its small-letter or capitalised form
is a word or a name of some language ("иду" is Russian for "I go", "Isis" a name, "tip" an
English word); those count in other than capital letters only with a context that makes the
reading clear (configs/context.yaml). A name is written with its capital: only a word counts
against the acronym written all in small letters ("isis" is the acronym, "Isis" may be the
goddess). The decision is data: configs/ordinary_words.yaml, written by this module from the
hunspell dictionaries Debian packages, with their versions and the forms each accepted:

    apt-get install hunspell hunspell-en-us hunspell-ru hunspell-kk hunspell-uz hunspell-ar
    .venv/bin/python -m classifiers.ordinary_words
"""

from __future__ import annotations

import functools
import subprocess
import sys
import unicodedata
from pathlib import Path

import yaml

from classifiers import yaml_text
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons

__all__ = ["ORDINARY_WORDS", "is_ordinary", "is_small_word", "main"]

ORDINARY_WORDS = DEFAULT_LEXICON_DIR.parent / "ordinary_words.yaml"
DICTIONARIES = ("en_US", "ru_RU", "kk_KZ", "uz_UZ", "ar")
_PACKAGES = ("hunspell-en-us", "hunspell-ru", "hunspell-kk", "hunspell-uz", "hunspell-ar")


# Words and names the dictionaries lack, written by hand, each with its source.
EXTRA_WORDS = DEFAULT_LEXICON_DIR.parent / "ordinary_words_extra.yaml"


@functools.cache
def _words(path: Path = ORDINARY_WORDS, extra: Path = EXTRA_WORDS) -> dict[str, bool]:
    """Each word or name in small letters, and whether it is a word in small letters too."""
    words: dict[str, bool] = {}
    for source in (path, extra):
        if not source.is_file():
            continue
        data = yaml_text.safe_load(source.read_text(encoding="utf-8")) or {}
        for word, accepted in (data.get("words") or {}).items():
            small = str(word).casefold()
            # ordinary_words.yaml: {dictionary: [accepted forms]}; the extra file's words: a
            # source string (a word in small letters).
            forms = (
                [f for found in accepted.values() for f in found]
                if isinstance(accepted, dict)
                else [small]
            )
            words[small] = words.get(small, False) or small in forms
        for name in data.get("names") or {}:
            words.setdefault(str(name).casefold(), False)
    return words


def is_ordinary(acronym: str) -> bool:
    """Whether the acronym, written in small letters or capitalised, is a word or a name."""
    return unicodedata.normalize("NFKC", acronym).casefold() in _words()


def is_small_word(acronym: str) -> bool:
    """Whether the acronym written all in small letters is a word (not only a name)."""
    return _words().get(unicodedata.normalize("NFKC", acronym).casefold(), False)


def _accepted(forms: list[str], dictionary: str) -> set[str]:
    run = subprocess.run(
        ["hunspell", "-d", dictionary, "-G"],
        input="\n".join(forms),
        capture_output=True,
        text=True,
        check=True,
    )
    return set(run.stdout.split())


def _versions() -> str:
    run = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *_PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    return "; ".join(run.stdout.split("\n")[:-1]) or "unknown"


def main() -> None:
    """Write configs/ordinary_words.yaml from the installed hunspell dictionaries."""
    acronyms = sorted(
        {
            term.term
            for lexicon in load_lexicons([DEFAULT_LEXICON_DIR])
            for term in lexicon.terms
            # A dictionary tells words apart, not phrases: "ISIS-K" is no word even if "Isis" is.
            if term.mode == "abbr" and term.term.isalpha()
        }
    )
    found: dict[str, dict[str, list[str]]] = {}
    for acronym in acronyms:
        small = acronym.casefold()
        forms = [small, small[:1].upper() + small[1:]]
        for dictionary in DICTIONARIES:
            accepted = sorted(_accepted(forms, dictionary))
            if accepted:
                found.setdefault(small, {})[dictionary] = accepted
    data = {
        "source": f"hunspell -G over each lexicon acronym in small letters and capitalised, "
        f"with the forms each dictionary accepted; "
        f"dictionaries {', '.join(DICTIONARIES)} ({_versions()})",
        "words": found,
    }
    header = "# Written by `python -m classifiers.ordinary_words`; do not edit by hand.\n"
    ORDINARY_WORDS.write_text(
        header + yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )
    print(f"{ORDINARY_WORDS}: {len(found)} of {len(acronyms)} acronyms are words", file=sys.stderr)


if __name__ == "__main__":
    main()
