"""Benchmark: posts/s on ONE core for language + lexicon tagging of 280-character posts.

Baseline in the same run: langdetect alone (the usual library choice), on a smaller subset
since it is slow. Then py3langid language identification alone, lexicon tagging alone, and
both together through PostClassifier.classify_many in batches, as `vemeter classify` and the
crawl's writer run them. The process is pinned to one core and NumPy/BLAS to one thread.
Posts are synthetic: neutral words in the project's languages, 3% naming a lexicon term.
The runs take turns in each round (the machine's speed moves between minutes); median and best
of the rounds; figures go to docs/benchmarks.md.

    python bench/classify.py [--posts 20000] [--langdetect-posts 1000] [--rounds 5] [--no-write]
"""

from __future__ import annotations

import os

# Before NumPy is imported (by the classifiers): one thread, so one core is really one.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from docsection import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LENGTH = 280
BATCH = 256
MENTION_SHARE = 0.03
# Neutral everyday words (weather, city, market, school, family, sport) per language, with
# the share of posts in that language: Russian dominates the region's public pages.
WORDS: dict[str, tuple[float, str]] = {
    "ru": (0.40, "погода завтра город рынок школа семья праздник дорога автобус новости "
                 "вечером утром солнце дождь снег цены хлеб молоко работа улица парк "
                 "футбол концерт библиотека больница урожай соседи детский сад"),
    "kk": (0.12, "ауа райы ертең қала базар мектеп отбасы мереке жол автобус жаңалықтар "
                 "кешке таңертең күн жаңбыр қар баға нан сүт жұмыс көше саябақ футбол "
                 "концерт кітапхана аурухана егін көршілер балабақша"),
    "ky": (0.10, "аба ырайы эртең шаар базар мектеп үй-бүлө майрам жол автобус жаңылыктар "
                 "кечинде эртең менен күн жамгыр кар баалар нан сүт жумуш көчө сейил бак "
                 "футбол концерт китепкана оорукана түшүм кошуналар бала бакча"),
    "uz": (0.12, "ob-havo ertaga shahar bozor maktab oila bayram yo'l avtobus yangiliklar "
                 "kechqurun ertalab quyosh yomg'ir qor narxlar non sut ish ko'cha bog' "
                 "futbol konsert kutubxona shifoxona hosil qo'shnilar bolalar bog'chasi"),
    "tg": (0.08, "обу ҳаво пагоҳ шаҳр бозор мактаб оила ҷашн роҳ автобус хабарҳо бегоҳ "
                 "субҳ офтоб борон барф нархҳо нон шир кор кӯча боғ футбол консерт "
                 "китобхона беморхона ҳосил ҳамсояҳо кӯдакистон"),
    "tk": (0.04, "howa ertir şäher bazar mekdep maşgala baýramçylyk ýol awtobus täzelikler "
                 "agşam irden gün ýagyş gar bahalar çörek süýt iş köçe seýilgäh futbol "
                 "konsert kitaphana hassahana hasyl goňşular çagalar bagy"),
    "ar": (0.04, "الطقس غدا المدينة السوق المدرسة العائلة العيد الطريق الحافلة الأخبار "
                 "مساء صباحا الشمس المطر الثلج الأسعار الخبز الحليب العمل الشارع الحديقة "
                 "كرة القدم الحفل المكتبة المستشفى الحصاد الجيران الروضة"),
    "fa": (0.03, "هوا فردا شهر بازار مدرسه خانواده جشن جاده اتوبوس اخبار عصر صبح "
                 "آفتاب باران برف قیمت‌ها نان شیر کار خیابان پارک فوتبال کنسرت "
                 "کتابخانه بیمارستان برداشت همسایه‌ها مهدکودک"),
    "en": (0.07, "weather tomorrow city market school family holiday road bus news "
                 "evening morning sun rain snow prices bread milk work street park "
                 "football concert library hospital harvest neighbours kindergarten"),
}  # fmt: skip


def make_posts(count: int, seed: int = 0) -> list[str]:
    """`count` posts of exactly LENGTH characters; MENTION_SHARE of them name a lexicon term."""
    from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons

    rng = random.Random(seed)
    terms: dict[str, list[str]] = {}
    for lexicon in load_lexicons([DEFAULT_LEXICON_DIR]):
        for term in lexicon.terms:
            for lang in term.lang:
                terms.setdefault(lang, []).append(term.term)
    languages = list(WORDS)
    weights = [WORDS[lang][0] for lang in languages]
    vocab = {lang: WORDS[lang][1].split() for lang in languages}
    posts = []
    for _ in range(count):
        lang = rng.choices(languages, weights)[0]
        words = [rng.choice(vocab[lang]) for _ in range(60)]
        if rng.random() < MENTION_SHARE:
            words.insert(rng.randrange(2, 12), rng.choice(terms.get(lang) or terms["en"]))
        text = ""
        for word in words:
            sep = rng.choice((" ", " ", " ", ", ", ". "))
            text += (sep if text else "") + word
            if len(text) >= LENGTH:
                break
        posts.append(text[:LENGTH])
    return posts


def train_starter_model(folder: Path) -> Path:
    """The starter topic model, as `vemeter model train --starter` trains it (~40 s)."""
    from classifiers.lexicon import build_tagger
    from classifiers.starter import train_starter

    tagger = build_tagger()
    model, _ = train_starter(
        lambda text: {m.topic for m in tagger.tag(text)}, f"{tagger.name}@{tagger.version}"
    )
    model.save(folder)
    return folder


def interleaved(works: list[Callable[[], object]], rounds: int) -> list[list[float]]:
    """CPU seconds of each work() in each of `rounds` rounds, the works taking turns.

    CPU time of this single-threaded process pinned to one core: posts per CPU-second, which
    other processes do not distort as they would wall time. The machine's own speed still
    moves (a shared host: 20-30% between minutes), so each round runs every work once and
    the rows compare runs made under the same conditions.
    """
    times: list[list[float]] = [[] for _ in works]
    for _ in range(rounds):
        for spent, work in zip(times, works, strict=True):
            start = time.process_time()
            work()
            spent.append(time.process_time() - start)
    return times


def batched(function: Callable[[Sequence[str]], object], texts: list[str]) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(texts), BATCH):
            function(texts[start : start + BATCH])

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--langdetect-posts", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--model", type=Path, help="a topic model folder (default: the starter, trained now)"
    )
    args = parser.parse_args()
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})

    from langdetect import DetectorFactory, detect_langs

    from classifiers.post import PostClassifier

    posts = make_posts(args.posts)
    subset = posts[: args.langdetect_posts]
    classifier = PostClassifier()
    DetectorFactory.seed = 0
    detect_langs("warm up: load the profiles")  # not timed
    classifier.classify_many(posts[:BATCH])  # not timed: first-use allocations
    flagged = sum(r.flagged for r in classifier.classify_many(posts))

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or train_starter_model(Path(tmp) / "starter")
        either = PostClassifier(topics="either", model=folder)
        either.classify_many(posts[:BATCH])  # not timed
        work: list[tuple[str, int, Callable[[], object]]] = [
            ("langdetect alone (baseline)", len(subset),
             lambda: [detect_langs(text) for text in subset]),
            ("language only (py3langid, batched)", len(posts),
             batched(classifier.language.identify_many, posts)),
            ("lexicon only", len(posts), lambda: [classifier.lexicon.tag(text) for text in posts]),
            ("language + lexicon (PostClassifier.classify_many)", len(posts),
             batched(classifier.classify_many, posts)),
            ("… + the starter topic model (topics: either)", len(posts),
             batched(either.classify_many, posts)),
        ]  # fmt: skip
        times = interleaved([run for _, _, run in work], args.rounds)
    baseline = len(subset) / statistics.median(times[0])
    rows = [
        (
            name,
            n,
            n / statistics.median(spent),
            n / min(spent),
            n / statistics.median(spent) / baseline,
        )
        for (name, n, _), spent in zip(work, times, strict=True)
    ]
    print(f"\n{args.posts:,} posts of {LENGTH} characters ({flagged:,} flagged), core {core}, "
          f"CPU time, {args.rounds} interleaved rounds, Python {platform.python_version()}\n")  # fmt: skip
    print(f"{'run':<52} {'posts':>7} {'median/s':>9} {'best/s':>9} {'× langdetect':>13}")
    for name, n, rate, best, ratio in rows:
        print(f"{name:<52} {n:>7,} {rate:>9,.0f} {best:>9,.0f} {ratio:>12,.1f}×")
    if not args.no_write:
        write_doc(args, flagged, rows)


def write_doc(
    args: argparse.Namespace, flagged: int, rows: list[tuple[str, int, float, float, float]]
) -> None:
    table = "\n".join(
        f"| {name} | {n:,} | {rate:,.0f} | {best:,.0f} | {ratio:,.1f}× |"
        for name, n, rate, best, ratio in rows
    )
    body = f"""
## Classification on one core (`bench/classify.py`)

{args.posts:,} synthetic posts of {LENGTH} characters in nine of the project's languages
({MENTION_SHARE:.0%} name a lexicon term; {flagged:,} flagged), one core (CPU affinity) and one
NumPy thread, CPU time, {args.rounds} rounds in which the runs take turns (median and best
of the rounds), Python {platform.python_version()}, measured
{time.strftime("%Y-%m-%d")}. Baseline: langdetect alone on the first {args.langdetect_posts:,}
posts. Batched runs take {BATCH} posts per call, as `vemeter classify` does. The last row adds
the starter topic model (`vemeter model train --starter`) in `either` mode.

| run | posts | posts/s (median) | posts/s (best) | × langdetect (median) |
|---|---:|---:|---:|---:|
{table}
"""
    write_section("bench/classify.py", body)


if __name__ == "__main__":
    main()
