"""A deterministic fake news website for tests and demos: its articles and where each is listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

NOW = 1767225600  # 2026-01-01T00:00:00Z, fixed reference time of the fake site
HOUR, DAY = 3600, 86400


@dataclass
class FakeArticle:
    """One article page; `flagged` and `lang` are ground truth, never served."""

    path: str
    title: str
    paragraphs: tuple[str, ...]
    published: int  # unix time
    author: str
    lang: str
    flagged: bool = False
    layout_changed: bool = False  # served in markup the configured selectors do not know

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.published, tz=UTC)

    @property
    def text(self) -> str:
        """What the crawler must extract: the paragraphs, one per line."""
        return "\n".join(self.paragraphs)


@dataclass
class FakeSite:
    """Which article is listed where.

    news: in the RSS feed and the news sitemap (newest first); news_archive: news sitemap only;
    archive: archive sitemap only (dates in it are days, times only on the pages); blog: the
    Atom feed, full text inline; private: in the RSS feed under /private/, which robots.txt
    disallows. The RSS feed also carries `malformed_items` entries with neither link nor guid.
    """

    news: list[FakeArticle]
    news_archive: list[FakeArticle]
    archive: list[FakeArticle]
    blog: list[FakeArticle]
    private: list[FakeArticle]
    malformed_items: int = 1
    # path -> HTTP statuses answered to its 1st, 2nd, … request (then the page itself)
    errors: dict[str, list[int]] = field(default_factory=dict)

    def articles(self) -> list[FakeArticle]:
        return [*self.news, *self.news_archive, *self.archive, *self.blog, *self.private]

    def by_path(self) -> dict[str, FakeArticle]:
        return {a.path: a for a in self.articles()}

    def publish(self, n: int) -> list[FakeArticle]:
        """n new news articles, newer than every other, at the top of the feed and news sitemap."""
        newest = max(a.published for a in self.articles())
        fresh = []
        for k in range(n, 0, -1):
            lang, title, paragraphs = FRESH[(len(self.news) + k) % len(FRESH)]
            fresh.append(
                FakeArticle(
                    path=f"/news/update-{len(self.news) + k}",
                    title=title,
                    paragraphs=paragraphs,
                    published=newest + k * HOUR,
                    author="Newsroom",
                    lang=lang,
                )
            )
        self.news[0:0] = fresh
        return fresh

    def storable(self) -> list[FakeArticle]:
        """Articles a correct crawl stores: every listed one but robots-disallowed and broken ones."""
        return [a for a in self.articles() if a not in self.private and not a.layout_changed]


def _a(path: str, ago: int, lang: str, title: str, *paragraphs: str, **kw: object) -> FakeArticle:
    author = str(kw.pop("author", "Newsroom"))
    flagged = bool(kw.pop("flagged", False))
    changed = bool(kw.pop("layout_changed", False))
    return FakeArticle(path, title, paragraphs, NOW - ago, author, lang, flagged, changed)


FRESH: list[tuple[str, str, tuple[str, ...]]] = [
    ("ru", "Астана: открыт новый каток", ("В центре города открыли каток на 300 человек.",)),
    ("kk", "Шымкент: жаңа саябақ", ("Қалада жаңа саябақ ашылды.", "Оған 40 ағаш отырғызылды.")),
    ("en", "Bishkek: tram line tested", ("The first test run of the tram line took place today.",)),
]


def default_site() -> FakeSite:
    """The fake site every test and demo uses."""
    # Short, neutral, news-like texts in several languages. A few report on court cases or bans
    # that *mention* a designated organisation by name, so classifiers have something to find;
    # none is propaganda, praise, recruitment, instructions or threats.
    news = [
        _a("/news/library-books", 2 * HOUR, "ru", "Бишкек: библиотека получила новые книги",
           "Городская библиотека получила 300 новых книг.",
           "Читальный зал будет открыт и в выходные.", author="Айгуль Т."),
        _a("/news/court-case", 8 * HOUR, "ru", "Суд рассмотрел дело",
           "Суд рассмотрел дело о членстве в ИГИЛ (организация запрещена).",
           "Приговор будет оглашён на следующей неделе.", author="Иван П.", flagged=True),
        _a("/news/new-school", 14 * HOUR, "kk", "Алматы: жаңа мектеп",
           "Алматыда жаңа мектеп 600 оқушыны қабылдады.", author="Айгерім С."),
        _a("/news/street-repairs", 20 * HOUR, "ky", "Ош: көчөлөр оңдолууда",
           "Ош шаарында 12 көчө оңдолууда.", "Иштер жазга чейин бүтөт."),
        _a("/news/ban-upheld", 26 * HOUR, "en", "Supreme Court upholds ban",
           "Supreme Court upholds the ban on Hizb ut-Tahrir.",
           "The ruling ends a two-year appeal.", author="J. Smith", flagged=True),
        _a("/news/school-opens", 32 * HOUR, "uz", "Toshkent: yangi maktab",
           "Toshkentda yangi maktab 500 nafar o‘quvchini qabul qildi."),
    ]  # fmt: skip
    news_archive = [
        _a("/news/football", 10 * DAY, "tg", "Футбол: ғалабаи даста",
           "Дастаи футболи маҳаллӣ бо ҳисоби 3:1 ғалаба кард."),
        _a("/news/weather", 11 * DAY, "ru", "Погода: снег",
           "В Бишкеке завтра снег и до минус пяти градусов."),
    ]  # fmt: skip
    archive = [
        _a("/archive/stock-index", 40 * DAY + 5 * HOUR, "en", "Stock index rises",
           "The local stock index rose 12 points this week."),
        _a("/archive/court-hearing", 43 * DAY + 9 * HOUR, "kk", "Сот ісі",
           "Сот «Ислам мемлекеті» ұйымына мүшелік туралы істі қарады.", flagged=True),
        _a("/archive/theatre", 46 * DAY + 14 * HOUR, "ru", "Театр: премьера",
           "Городской театр показал премьеру спектакля.", "Билеты распроданы."),
        _a("/archive/bazaar", 49 * DAY + 3 * HOUR, "uz", "Бозор таъмирланди",
           "Шаҳар бозори таъмирдан кейин очилди."),
        _a("/archive/redesign", 52 * DAY + 7 * HOUR, "ky", "Шаардык китепкана",
           "Шаардык китепкана 200 жаңы китеп алды.", layout_changed=True),
    ]  # fmt: skip
    blog = [
        _a("/blog/prevention", 2 * DAY + 3 * HOUR, "uz", "Ekspertlar uchrashuvi",
           "Ekspertlar yoshlar orasida «Islom davlati» tashviqotining oldini olishni "
           "muhokama qildi.", author="Dilnoza R.", flagged=True),
        _a("/blog/tea-house", 4 * DAY + 3 * HOUR, "tg", "Чойхонаи нав",
           "Дар Душанбе чойхонаи нав кушода шуд.", "Он ҳар рӯз кор мекунад."),
        _a("/blog/mountains", 6 * DAY + 3 * HOUR, "en", "Notes from the mountains",
           "A week of hiking near Karakol.", "The trails were quiet and well marked."),
        _a("/blog/museum", 8 * DAY + 3 * HOUR, "kk", "Мұражай",
           "Астанадағы мұражайға 1000 келуші келді."),
    ]  # fmt: skip
    private = [
        _a("/private/staff-meeting", 1 * HOUR, "ru", "Планёрка редакции",
           "Планёрка редакции переносится на пятницу."),
    ]  # fmt: skip
    return FakeSite(news, news_archive, archive, blog, private)
