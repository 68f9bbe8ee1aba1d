"""Train the short-text language model shipped as classifiers/data/short_langid.npz.

    python -m classifiers.short_langid_train TRAIN_JSONL [--out classifiers/data/short_langid.npz]

TRAIN_JSONL is the training half of the langid corpus collected for issue 14 (train.jsonl,
198,386 sentences, 56 MB, too big for the repository; one JSON object per line with `lang`,
`script`, `text`, `source`, `genre`; built by the corpus's own tools/ scripts, which fetch the
Debian packages with apt-get download and the repositories from GitHub). It was built from
public software translations and text corpora: GNOME/GTK/MATE/Cinnamon/Xfce/LXDE/VLC/GIMP/GNU
tools, apt/dpkg, iso-codes, Firefox ESR language packs, MediaWiki interface messages and Debian
package descriptions (DDTP) as Debian bookworm packages; Universal Dependencies treebanks
(Persian-PerDT, Russian-GSD, Turkish-BOUN, Turkmen-TUD); KazNERD (Kazakh TV news); 24.kg
Kyrgyz news (alexeyev/kyrgyz-multi-label-topic-classification); Tajik presidential addresses
(komdil/Tajik-Keyword-Extractor); the Bashkir corpus nevmenandr/bashkir-corpus; apertium-tat
and an unofficial Tatar Steam translation. Its SOURCES.md lists every source with its licence.
The evaluation half (tests/data/langid/real_eval.jsonl) comes from other projects (KDE,
LibreOffice, Django, Lomiri, other UD treebanks...) and was never trained on; NTREX-128, the
X-WMT test sets, UDHR translations and gnome-control-center were kept out of both.

What is trained: every Uzbek Latin sentence is also spelled in Cyrillic (the corpus has only
~500 Uzbek Cyrillic sentences); each sentence gives random windows of 1-6 words, 3 per
sentence and up to 12 for small classes; the classes are the 14 codes of DEFAULT_LANGUAGES
plus `uz-Cyrl` (merged into `uz` when scoring). Their hashed character 1-4-gram counts
(classifiers.short_langid.NgramHasher) feed a one-vs-rest linear classifier with logistic loss
(scikit-learn SGDClassifier, balanced class weights, fixed seed, so a run reproduces the
shipped model's digest). The weights are stored as int8 with one scale. A run takes about
three minutes and 2.5 GB of memory on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.language import DEFAULT_LANGUAGES
from classifiers.short_langid import FORMAT, MODEL_FILE, TABLE_SIZE, NgramHasher

# A letter seen fewer times than this in the corpus shares one "other letter" class.
MIN_LETTER_COUNT = 20
BITS = 16
ORDERS = (1, 2, 3, 4)
WINDOWS = 3
# Classes with fewer sentences get more windows per sentence, up to MAX_WINDOWS, so that each
# class has about WINDOWS * CLASS_SENTENCES windows (Tatar: ~2,200 sentences, 12 windows each).
CLASS_SENTENCES = 20_000
MAX_WINDOWS = 12
MAX_WORDS = 6
ALPHA = 3e-6
EPOCHS = 15
SEED = 0
_APOSTROPHES = "'ʻʼ’‘`"  # Uzbek oʻ/gʻ is typed with any of them
_DIGITS = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹")  # ASCII, Arabic-Indic, Persian
# Uzbek Latin -> Cyrillic, longest spelling first (the official 1995 correspondence; Russian
# loanwords such as sentabr/сентябрь keep their Latin spelling's letters).
_UZ_CYRILLIC = [
    ("oʻ", "ў"), ("gʻ", "ғ"), ("sh", "ш"), ("ch", "ч"), ("yo", "ё"), ("yu", "ю"), ("ya", "я"),
    ("ye", "е"), ("ʼ", "ъ"), ("a", "а"), ("b", "б"), ("d", "д"), ("e", "е"), ("f", "ф"),
    ("g", "г"), ("h", "ҳ"), ("i", "и"), ("j", "ж"), ("k", "к"), ("l", "л"), ("m", "м"),
    ("n", "н"), ("o", "о"), ("p", "п"), ("q", "қ"), ("r", "р"), ("s", "с"), ("t", "т"),
    ("u", "у"), ("v", "в"), ("x", "х"), ("y", "й"), ("z", "з"),
]  # fmt: skip
_UZ_APOSTROPHE_RE = re.compile(r"(?<=[og])['‘’`]")
_UZ_LATIN_RE = re.compile("|".join(re.escape(latin) for latin, _ in _UZ_CYRILLIC))
_UZ_INITIAL_E_RE = re.compile(r"(?<![^\W\d_])e")


def character_table(alphabet: str) -> Any:
    """Code point -> class: -1 dropped, 0 boundary, 1.. ZWNJ, digits, apostrophe, letters."""
    table = np.zeros(TABLE_SIZE, dtype=np.int16)
    for point in range(TABLE_SIZE):
        if unicodedata.category(chr(point)) in ("Mn", "Me", "Cf"):
            table[point] = -1
    next_class = 1
    table[0x200C] = next_class  # ZWNJ: Persian writes it inside words (می‌شود)
    for digits in _DIGITS:
        next_class += 1
        table[[ord(digit) for digit in digits]] = next_class
    next_class += 1
    table[[ord(mark) for mark in _APOSTROPHES]] = next_class
    next_class += 1
    other = next_class
    for point in range(TABLE_SIZE):
        if table[point] == 0 and chr(point).isalpha():
            table[point] = other
    for letter in sorted(set(alphabet)):
        if ord(letter) < TABLE_SIZE and table[ord(letter)] == other:
            next_class += 1
            table[ord(letter)] = next_class
    return table


def uzbek_cyrillic(text: str) -> str:
    """Uzbek Latin spelled in Cyrillic (lower case), e.g. "Oʻzbekiston" -> "ўзбекистон"."""
    text = _UZ_APOSTROPHE_RE.sub("ʻ", text.lower())
    # A word-initial e is э (ertaga -> эртага); ye is е anywhere (yer -> ер).
    text = _UZ_INITIAL_E_RE.sub("э", text)
    table = dict(_UZ_CYRILLIC)
    return _UZ_LATIN_RE.sub(lambda match: table[match.group()], text)


def label_of(row: dict[str, str]) -> str:
    """The training class: the language, with Uzbek Cyrillic a class of its own."""
    return "uz-Cyrl" if row["lang"] == "uz" and row.get("script") == "Cyrl" else row["lang"]


def augmented(rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The rows plus every Uzbek Latin sentence spelled in Cyrillic.

    The corpus has ~500 Uzbek Cyrillic sentences (software strings only) against ~4,000 in
    Latin; Uzbek Cyrillic posts are common in the crawl and sit between Tajik and Kyrgyz.
    """
    extra = [
        {**row, "script": "Cyrl", "text": uzbek_cyrillic(row["text"])}
        for row in rows
        if row["lang"] == "uz" and row.get("script") == "Latn"
    ]
    return [*rows, *extra]


def windows(rows: Sequence[dict[str, str]], seed: int = SEED) -> tuple[list[str], list[str]]:
    """Random windows of 1..MAX_WORDS words of each sentence, with its training class."""
    rng = random.Random(seed)
    sizes = Counter(label_of(row) for row in rows)
    per_class = {
        label: min(MAX_WINDOWS, max(WINDOWS, round(WINDOWS * CLASS_SENTENCES / size)))
        for label, size in sizes.items()
    }
    texts: list[str] = []
    labels: list[str] = []
    for row in rows:
        words = row["text"].split()
        for _ in range(per_class[label_of(row)]):
            size = rng.randint(1, MAX_WORDS)
            start = rng.randint(0, max(0, len(words) - size))
            texts.append(" ".join(words[start : start + size]))
            labels.append(label_of(row))
    return texts, labels


def train(rows: Sequence[dict[str, str]], languages: Sequence[str]) -> dict[str, Any]:
    """The arrays of a model file, trained on `rows` (see the module docstring)."""
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier

    letters: Counter[str] = Counter()
    for row in rows:
        letters.update(row["text"].lower())
    alphabet = "".join(c for c, n in letters.items() if n >= MIN_LETTER_COUNT and c.isalpha())
    hasher = NgramHasher(character_table(alphabet), BITS, ORDERS)
    texts, labels = windows(augmented(rows))
    classes = [*languages, *sorted(set(labels) - set(languages))]
    index = {label: i for i, label in enumerate(classes)}
    target = np.array([index[label] for label in labels])
    step = 20_000
    features = sp.vstack([hasher.matrix(texts[i : i + step]) for i in range(0, len(texts), step)])
    # The last column (n-grams past the end of a text) is always zero in the shipped weights.
    features = features.tocsr()[:, : hasher.buckets]
    model = SGDClassifier(
        loss="log_loss", alpha=ALPHA, max_iter=EPOCHS, tol=None, class_weight="balanced",
        random_state=SEED,
    )  # fmt: skip
    model.fit(features, target)
    weights = np.ascontiguousarray(model.coef_.T, dtype=np.float64)
    scale = float(np.abs(weights).max()) / 127.0
    return {
        "format": np.array(FORMAT),
        "languages": np.array(list(languages)),
        # Training classes: the languages, then extra classes of a language (uz-Cyrl).
        "classes": np.array(classes),
        "table": hasher.table,
        "bits": np.array(BITS),
        "orders": np.array(ORDERS),
        "weights": np.round(weights / scale).astype(np.int8),
        "scale": np.array(scale, dtype=np.float32),
        "bias": model.intercept_.astype(np.float64),
        "windows": np.array(len(texts)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path, help="train.jsonl of the langid corpus")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    with args.train.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    unknown = {row["lang"] for row in rows} - set(DEFAULT_LANGUAGES)
    if unknown:
        sys.exit(f"{args.train}: languages outside DEFAULT_LANGUAGES: {sorted(unknown)}")
    arrays = train(rows, DEFAULT_LANGUAGES)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as out:
        np.savez_compressed(out, **arrays)
    print(f"{args.out}: {len(rows):,} sentences, {int(arrays['windows']):,} windows")


if __name__ == "__main__":
    main()
