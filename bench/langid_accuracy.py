"""Language identification accuracy and speed: py3langid restricted (baseline) against ours.

Two sets from tests/data/langid (see its README.md):

* real_eval.jsonl: 4,171 real sentences from projects and corpora the short-text model never
  saw, each also cut to its first 40 characters and to its first three words. The baseline
  and ours (no prior) are compared in one run: macro-F1 over the 9 targets, per-language F1 at
  three words, and texts/s on one core.
* posts.jsonl and blind.jsonl: the project's real-looking posts (dev / test / blind), with the
  channel-prior variants and langdetect as before.

Speed: the process is pinned to one core and NumPy to one thread; texts/s is process CPU time,
median of --rounds rounds, in batches of 256 as `vemeter classify` runs them.

    .venv/bin/python bench/langid_accuracy.py [--rounds 5] [--no-langdetect]

Prints a Markdown section for docs/benchmarks.md to stdout.
"""

from __future__ import annotations

import os

# Before NumPy is imported (by the classifiers): one thread, so one core is really one.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.language import (  # noqa: E402
    SHORT_LETTERS,
    SHORT_WEIGHT,
    LanguageIdentifier,
)
from classifiers.language_eval import (  # noqa: E402
    ALL_LABELS,
    EVAL_DIR,
    REAL_EVAL,
    VARIANTS,
    EvalPost,
    channel_priors,
    load_posts,
    py3langid_baseline,
    score,
    variant_text,
)
from classifiers.language_rules import script_counts  # noqa: E402
from classifiers.short_langid import MODEL_FILE, load_short_model  # noqa: E402

Predict = Callable[[list[str], list[EvalPost]], list[str]]
BATCH = 256
LABELS = {"full": "full", "short40": "≤40", "words3": "3w"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds (median)")
    parser.add_argument("--no-langdetect", action="store_true", help="skip the slow row")
    args = parser.parse_args()
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    before = resident_mb()
    short = load_short_model()
    with_short = resident_mb()
    base = py3langid_baseline()
    ours = LanguageIdentifier()
    loaded = resident_mb()
    today = datetime.date.today().isoformat()
    print("## Language identification accuracy (`bench/langid_accuracy.py`)\n")
    print(
        f"Measured {today}, Python {platform.python_version()}, one core (CPU affinity) and "
        f"one NumPy thread, texts/s = process CPU time, median of {args.rounds} rounds, batches "
        f"of {BATCH}. Baseline: py3langid 0.4.0 restricted to the 14 languages "
        "(`set_languages`), nothing else. Ours: `LanguageIdentifier()` without any prior: "
        f"py3langid, plus for posts under {SHORT_LETTERS} letters the short-text model "
        f"(`{MODEL_FILE.relative_to(ROOT)}`, weight {SHORT_WEIGHT}), plus the letter rules. "
        "Macro-F1 is over the 9 targets (Uzbek in either script counts as `uz`).\n"
    )
    real_section(base, ours, args.rounds)
    print(
        f"\nShort-text model: {MODEL_FILE.stat().st_size / 1e3:,.0f} kB on disk, "
        f"{(short.weights.nbytes + short.hasher.table.nbytes) / 1e6:.1f} MB of arrays; "
        f"resident memory {with_short - before:+.1f} MB when it loads, "
        f"{loaded:.0f} MB for the whole process with both identifiers loaded.\n"
    )
    posts_section(base, ours, args.rounds, not args.no_langdetect)


def real_section(
    base: Callable[[list[str]], list[str]], ours: LanguageIdentifier, rounds: int
) -> None:
    posts = load_posts(REAL_EVAL)
    gold = [post.lang for post in posts]
    halves = {"all": [True] * len(posts), "test": [post.split == "test" for post in posts]}
    rows = {
        "py3langid restricted (baseline)": base,
        "ours, no prior": lambda texts: [r.language for r in ours.identify_many(texts)],
    }
    print(
        f"### Real sentences (`tests/data/langid/real_eval.jsonl`, {len(posts):,} sentences, "
        f"{sum(halves['test']):,} in the test half, never tuned on)\n"
    )
    print("Macro-F1 (%), 9 targets; all-14 = macro-F1 over all 14 labels.\n")
    header = " | ".join(f"{half} {LABELS[v]}" for half in halves for v in VARIANTS)
    print(f"| identifier | {header} | all-14 full / ≤40 / 3w |")
    print("|---|" + "---:|" * (2 * len(VARIANTS)) + "---|")
    found: dict[str, dict[str, list[str]]] = {}
    for name, predict in rows.items():
        found[name] = {v: predict([variant_text(p.text, v) for p in posts]) for v in VARIANTS}
        cells = []
        for mask in halves.values():
            for variant in VARIANTS:
                kept = [i for i, keep in enumerate(mask) if keep]
                result = score([gold[i] for i in kept], [found[name][variant][i] for i in kept])
                cells.append(f"{100 * result.macro_f1:.2f}")
        every = " / ".join(
            f"{100 * score(gold, found[name][v], ALL_LABELS).macro_f1:.1f}" for v in VARIANTS
        )
        print(f"| {name} | {' | '.join(cells)} | {every} |")
    print("\nPer-language F1 at three words (%), all sentences:\n")
    print(f"| identifier | {' | '.join(ALL_LABELS)} |")
    print("|---|" + "---:|" * len(ALL_LABELS))
    for name in rows:
        result = score(gold, found[name]["words3"], ALL_LABELS)
        cells = [f"{100 * result.per_language[code][2]:.1f}" for code in ALL_LABELS]
        print(f"| {name} | {' | '.join(cells)} |")
    print(
        "\nSpeed (texts/s, one core); all = the three variants together; one per call = "
        "`identify()` on each three-word text:\n"
    )
    texts = {v: [variant_text(p.text, v) for p in posts] for v in VARIANTS}
    texts["all"] = [text for variant in VARIANTS for text in texts[variant]]
    print(f"| identifier | {' | '.join(LABELS.get(v, v) for v in texts)} | one per call |")
    print("|---|" + "---:|" * (len(texts) + 1))
    single: dict[str, Callable[[list[str]], object]] = {
        "py3langid restricted (baseline)": lambda batch: [base([text]) for text in batch],
        "ours, no prior": lambda batch: [ours.identify(text) for text in batch],
    }
    for name, predict in rows.items():
        cells = [f"{texts_per_second(predict, group, rounds):,.0f}" for group in texts.values()]
        one = texts_per_second(single[name], texts["words3"], rounds, batch=len(posts))
        print(f"| {name} | {' | '.join(cells)} | {one:,.0f} |")


def posts_section(
    base: Callable[[list[str]], list[str]], ours: LanguageIdentifier, rounds: int, slow: bool
) -> None:
    posts = load_posts()
    # blind.jsonl: written by someone who never saw the identifier or the other posts.
    blind = EVAL_DIR / "blind.jsonl"
    if blind.exists():
        posts += load_posts(blind)
    splits = [split for split in ("dev", "test", "blind") if any(p.split == split for p in posts)]

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
    ]  # fmt: skip
    if slow:
        detector = LanguageIdentifier(engine="langdetect")
        rows.append((
            "langdetect (engine option)",
            lambda t, g: [r.language for r in detector.identify_many(t)], detector.identify_many,
        ))  # fmt: skip
    print("### The project's posts (`posts.jsonl`, `blind.jsonl`)\n")
    print(f"Macro-F1 over the 9 targets (%), {' / '.join(splits)}; nsl = Kazakh/Kyrgyz typed")
    print("without special letters (right answers, full/40/3w, all sets); texts/s on full posts")
    print("(langdetect: the first 300).\n")
    header = " | ".join(f"{split} {LABELS[v]}" for split in splits for v in VARIANTS)
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
        sample = [p.text for p in plain]
        if name.startswith("langdetect"):
            sample = sample[:300]
        speed = texts_per_second(run, sample, rounds if len(sample) > 300 else 1)
        print(f"| {name} | {' | '.join(cells)} | {'/'.join(nsl)} of {len(odd)} | {speed:,.0f} |")
    single = texts_per_second(
        lambda t: [ours.identify(x) for x in t], [p.text for p in plain], rounds, batch=len(plain)
    )
    print(f"\nours, one text per call: {single:,.0f} texts/s")
    mixed = [json.loads(line) for line in (EVAL_DIR / "mixed.jsonl").open(encoding="utf-8")]
    results = ours.identify_many([row["text"] for row in mixed])
    right = sum(
        {code for code, _ in r.languages} == set(row["languages"])
        for r, row in zip(results, mixed, strict=True)
    )
    print(f"mixed posts with exactly the expected languages listed: {right} of {len(mixed)}")


def texts_per_second(
    run: Callable[[list[str]], object], texts: Sequence[str], rounds: int, batch: int = BATCH
) -> float:
    """Texts per second of process CPU time, median of `rounds` passes in batches of `batch`."""
    sample = list(texts)
    run(sample[:50])  # warm-up: model tables are built on first use
    times = []
    for _ in range(max(1, rounds)):
        start = time.process_time()
        for i in range(0, len(sample), batch):
            run(sample[i : i + batch])
        times.append(time.process_time() - start)
    return len(sample) / max(statistics.median(times), 1e-9)


def resident_mb() -> float:
    """This process's resident set size (MB), from /proc (0 where there is none)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
