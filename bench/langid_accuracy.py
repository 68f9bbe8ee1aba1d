"""Language identification accuracy and speed on tests/data/langid: baseline, ours, langdetect.

Run: .venv/bin/python bench/langid_accuracy.py  (prints a Markdown table to stdout).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.fast_langid import new_py3langid
from classifiers.language import (
    DEFAULT_LANGUAGES,
    LanguageIdentifier,
    _has_letters,
    _strip_noise,
)
from classifiers.language_eval import (
    EVAL_DIR,
    VARIANTS,
    EvalPost,
    channel_priors,
    load_posts,
    score,
    variant_text,
)
from classifiers.language_rules import script_counts

Predict = Callable[[list[str], list[EvalPost]], list[str]]


def baseline() -> Callable[[list[str]], list[str]]:
    """py3langid restricted to the project's languages, as shipped before the rules."""
    model = new_py3langid(DEFAULT_LANGUAGES)

    def predict(texts: list[str]) -> list[str]:
        stripped = [_strip_noise(text) for text in texts]
        found = iter(model.classify_many([t for t in stripped if _has_letters(t, 3)]))
        return [next(found)[0] if _has_letters(t, 3) else "und" for t in stripped]

    return predict


def main() -> None:
    posts = load_posts()
    # blind.jsonl: written by someone who never saw the identifier or the other posts.
    blind = EVAL_DIR / "blind.jsonl"
    if blind.exists():
        posts += load_posts(blind)
    splits = [split for split in ("dev", "test", "blind") if any(p.split == split for p in posts)]
    ours = LanguageIdentifier()
    detector = LanguageIdentifier(engine="langdetect")
    base = baseline()

    def full_results(texts: list[str]) -> list[tuple[str, float, int]]:
        found = ours.identify_many(texts)
        return [
            (r.language, r.probability, script_counts(t)[1])
            for r, t in zip(found, texts, strict=True)
        ]

    def with_prior(texts: list[str], group: list[EvalPost]) -> list[str]:
        priors = channel_priors(group, full_results)
        return [r.language for r in ours.identify_many(texts, priors=priors)]

    def with_tally(texts: list[str], group: list[EvalPost]) -> list[str]:
        # Harder: the tally only sees this variant's texts (a source of short posts only).
        fresh = LanguageIdentifier()
        return [r.language for r in fresh.identify_many(texts, sources=[p.source for p in group])]

    rows: list[tuple[str, Predict, Callable[[list[str]], object]]] = [
        ("py3langid restricted (baseline)", lambda t, g: base(t), base),
        ("ours, no prior", lambda t, g: [r.language for r in ours.identify_many(t)],
         ours.identify_many),
        ("ours + channel prior (other posts, full text)", with_prior, ours.identify_many),
        ("ours + in-batch source tally (same variant)", with_tally, ours.identify_many),
        ("langdetect (engine option)", lambda t, g: [r.language for r in detector.identify_many(t)],
         detector.identify_many),
    ]  # fmt: skip
    print(f"Macro-F1 over the 9 targets (%), {' / '.join(splits)}; nsl = Kazakh/Kyrgyz typed")
    print("without special letters (accuracy, full/40/3w, all sets); texts/s on full posts.\n")
    header = " | ".join(f"{split} {v}" for split in splits for v in ("full", "≤40", "3w"))
    print(f"| identifier | {header} | nsl | texts/s |")
    print("|---|" + "---:|" * (3 * len(splits)) + "---|---:|")
    plain = [p for p in posts if p.variant != "no_special_letters"]
    odd = [p for p in posts if p.variant == "no_special_letters"]
    for name, predict, run in rows:
        cells = []
        for split in splits:
            group = [p for p in plain if p.split == split]
            for variant in VARIANTS:
                texts = [variant_text(p.text, variant) for p in group]
                found = predict(texts, group)
                cells.append(f"{100 * score([p.lang for p in group], found).macro_f1:.1f}")
        nsl = []
        for variant in VARIANTS:
            found = predict([variant_text(p.text, variant) for p in odd], odd)
            nsl.append(str(sum(f == p.lang for f, p in zip(found, odd, strict=True))))
        speed = texts_per_second(run, [p.text for p in plain])
        print(f"| {name} | {' | '.join(cells)} | {'/'.join(nsl)} of {len(odd)} | {speed:,.0f} |")
    single = texts_per_second(lambda t: [ours.identify(x) for x in t], [p.text for p in plain])
    print(f"\nours, one text per call: {single:,.0f} texts/s")
    mixed = [json.loads(line) for line in (EVAL_DIR / "mixed.jsonl").open(encoding="utf-8")]
    results = ours.identify_many([row["text"] for row in mixed])
    right = sum(
        {code for code, _ in r.languages} == set(row["languages"])
        for r, row in zip(results, mixed, strict=True)
    )
    print(f"mixed posts with exactly the expected languages listed: {right} of {len(mixed)}")


def texts_per_second(run: Callable[[list[str]], object], texts: Sequence[str]) -> float:
    sample = list(texts)
    if "langdetect" in repr(run):
        sample = sample[:300]
    run(sample[:50])  # warm-up: model tables are built on first use
    repeats = max(1, 20_000 // len(sample)) if "langdetect" not in repr(run) else 1
    start = time.perf_counter()
    for _ in range(repeats):
        run(sample)
    return repeats * len(sample) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
