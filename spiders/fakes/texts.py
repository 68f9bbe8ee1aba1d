"""The neutral synthetic texts every fake platform draws from: news-like sentence templates.

Texts are short, neutral, news-like sentences in the languages of the region. A share of them
are news-style sentences that *mention* a designated organisation by name (court cases, bans,
prevention programmes) so classifiers have something to find; none of them is propaganda,
praise, recruitment, instructions or threats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    """One set of templates: `{city}` and `{n}` are filled in at each draw."""

    cities: dict[str, list[str]]
    templates: dict[str, list[str]]
    # Neutral news sentences that mention a designated organisation by name.
    flagged: dict[str, list[str]]
    weights: dict[str, int]  # how often each language is drawn
    max_n: int  # the largest {n}

    def sentence(self, rng: random.Random, lang: str) -> str:
        """One neutral sentence in `lang`."""
        template = rng.choice(self.templates[lang])
        return template.format(city=rng.choice(self.cities[lang]), n=rng.randint(2, self.max_n))

    def language(self, rng: random.Random, flagged: bool = False) -> str:
        """A language by weight; with `flagged`, one of those with flagged sentences."""
        weights = {k: self.weights[k] for k in self.flagged} if flagged else self.weights
        return rng.choices(list(weights), weights=list(weights.values()))[0]


# ---- VK walls and Telegram channels ---------------------------------------------------------

CITIES: dict[str, list[str]] = {
    "ru": ["Алматы", "Бишкек", "Ташкент", "Душанбе", "Ашхабад", "Астана"],
    "kk": ["Алматы", "Астана", "Шымкент", "Қарағанды", "Ақтөбе", "Тараз"],
    "ky": ["Бишкек", "Ош", "Жалал-Абад", "Каракол", "Нарын", "Талас"],
    "uz-Latn": ["Toshkent", "Samarqand", "Buxoro", "Namangan", "Andijon", "Farg‘ona"],
    "uz-Cyrl": ["Тошкент", "Самарқанд", "Бухоро", "Наманган", "Андижон", "Фарғона"],
    "tg": ["Душанбе", "Хуҷанд", "Кӯлоб", "Бохтар", "Истаравшан", "Хоруғ"],
    "tk": ["Aşgabat", "Mary", "Daşoguz", "Türkmenabat", "Balkanabat", "Türkmenbaşy"],
    "en": ["Almaty", "Bishkek", "Tashkent", "Dushanbe", "Ashgabat", "Astana"],
    "ar": ["ألماتي", "بيشكيك", "طشقند", "دوشنبه", "عشق آباد", "أستانا"],
}

TEMPLATES: dict[str, list[str]] = {
    "ru": [
        "{city}: завтра ожидается до {n} градусов тепла и небольшой дождь.",
        "{city}: новая школа приняла {n} учеников в этом году.",
        "Индекс местной биржи вырос за неделю на {n} пунктов.",
        "Городская футбольная команда выиграла матч со счётом {n}:1.",
        "{city}: городская библиотека получила {n} новых книг.",
        "{city}: мэрия сообщила о ремонте {n} улиц в центре.",
    ],
    "kk": [
        "{city}: ертең ауа температурасы {n} градусқа дейін жетеді.",
        "{city}: жаңа мектеп {n} оқушыны қабылдады.",
        "Биржа индексі бір аптада {n} пунктке өсті.",
        "Жергілікті футбол командасы матчта {n}:1 есебімен жеңді.",
        "{city}: қалалық кітапхана {n} жаңа кітап алды.",
        "{city}: қалада {n} көше жөнделуде.",
    ],
    "ky": [
        "{city}: эртең аба ырайы {n} градуска чейин жылыйт.",
        "{city}: жаңы мектеп {n} окуучуну кабыл алды.",
        "Биржа индекси бир жумада {n} пунктка өстү.",
        "Жергиликтүү футбол командасы {n}:1 эсеби менен жеңди.",
        "{city}: шаардык китепкана {n} жаңы китеп алды.",
        "{city}: шаарда {n} көчө оңдолууда.",
    ],
    "uz-Latn": [
        "{city}: ertaga havo harorati {n} darajagacha ko‘tariladi.",
        "{city}: yangi maktab {n} nafar o‘quvchini qabul qildi.",
        "Birja indeksi bir haftada {n} punktga o‘sdi.",
        "Mahalliy futbol jamoasi o‘yinda {n}:1 hisobida g‘alaba qozondi.",
        "{city}: shahar kutubxonasi {n} ta yangi kitob oldi.",
        "{city}: shaharda {n} ta ko‘cha ta’mirlanmoqda.",
    ],
    "uz-Cyrl": [
        "{city}: эртага ҳаво ҳарорати {n} даражагача кўтарилади.",
        "{city}: янги мактаб {n} нафар ўқувчини қабул қилди.",
        "Биржа индекси бир ҳафтада {n} пунктга ўсди.",
        "Маҳаллий футбол жамоаси ўйинда {n}:1 ҳисобида ғалаба қозонди.",
        "{city}: шаҳар кутубхонаси {n} та янги китоб олди.",
        "{city}: шаҳарда {n} та кўча таъмирланмоқда.",
    ],
    "tg": [
        "{city}: фардо ҳарорати ҳаво то {n} дараҷа мерасад.",
        "{city}: мактаби нав {n} хонандаро қабул кард.",
        "Индекси биржа дар як ҳафта {n} банд афзоиш ёфт.",
        "Дастаи футболи маҳаллӣ бо ҳисоби {n}:1 ғалаба кард.",
        "{city}: китобхонаи шаҳр {n} китоби нав гирифт.",
        "{city}: дар шаҳр {n} кӯча таъмир карда мешавад.",
    ],
    "tk": [
        "{city}: ertir howanyň temperaturasy {n} gradusa çenli ýokarlanar.",
        "{city}: täze mekdep {n} okuwçyny kabul etdi.",
        "Birža indeksi bir hepdede {n} bal ýokarlandy.",
        "Ýerli futbol topary {n}:1 hasabynda ýeňiş gazandy.",
        "{city}: şäher kitaphanasy {n} sany täze kitap aldy.",
        "{city}: şäherde {n} köçe abatlanýar.",
    ],
    "en": [
        "{city}: temperatures are expected to reach {n} degrees tomorrow.",
        "{city}: a new school welcomed {n} pupils this term.",
        "The local stock index rose {n} points this week.",
        "The city football club won its match {n}:1.",
        "{city}: the public library received {n} new books.",
        "{city}: repairs are under way on {n} streets in the centre.",
    ],
    "ar": [
        "{city}: يتوقع أن تصل درجة الحرارة غدا إلى {n} درجة.",
        "{city}: المدرسة الجديدة استقبلت {n} طالبا هذا العام.",
        "ارتفع مؤشر البورصة المحلية بمقدار {n} نقطة خلال أسبوع.",
        "فاز فريق كرة القدم المحلي بنتيجة {n}:1.",
        "{city}: المكتبة العامة تسلمت {n} كتابا جديدا.",
        "{city}: أعمال صيانة في {n} شوارع في وسط المدينة.",
    ],
}

FLAGGED_TEMPLATES: dict[str, list[str]] = {
    "ru": [
        "Суд рассмотрел дело о членстве в ИГИЛ (организация запрещена в России).",
        "Верховный суд подтвердил запрет организации «Хизб ут-Тахрир».",
        "Эксперты обсудили профилактику вербовки в ДАИШ среди молодёжи.",
    ],
    "kk": [
        "Сот «Ислам мемлекеті» ұйымына мүшелік туралы істі қарады.",
        "Сарапшылар жастар арасында «ДАИШ» үгітінің алдын алуды талқылады.",
    ],
    "ky": [
        "Сот «ИШИД» уюмуна мүчө болгону боюнча ишти карады.",
        "Жогорку сот «Хизб ут-Тахрир» уюмуна тыюу салынганын ырастады.",
    ],
    "uz-Latn": [
        "Sud «Islom davlati» tashkilotiga a’zolik bo‘yicha ishni ko‘rib chiqdi.",
        "Ekspertlar yoshlar orasida «Islom davlati» tashviqotining oldini olishni muhokama qildi.",
    ],
    "uz-Cyrl": [
        "Суд «Ислом давлати» ташкилотига аъзолик бўйича ишни кўриб чиқди.",
        "Олий суд «Хизб ут-Тахрир» ташкилоти фаолиятини тақиқлаш ҳақидаги қарорни тасдиқлади.",
    ],
    "tg": [
        "Суд парвандаи узвият дар созмони «ДИИШ»-ро баррасӣ кард.",
        "Коршиносон пешгирии ҷалби ҷавонон ба «ДАИШ»-ро муҳокима карданд.",
    ],
    "en": [
        "Court hears case about ISIS membership.",
        "Supreme Court upholds the ban on Hizb ut-Tahrir.",
    ],
}

# fmt: off
LANG_WEIGHTS: dict[str, int] = {
    "ru": 35, "kk": 12, "ky": 10, "uz-Latn": 10, "uz-Cyrl": 8, "tg": 8, "tk": 5, "en": 7, "ar": 5,
}
# fmt: on

# What a VK repost adds above the reposted text.
REPOST_COMMENTS: dict[str, list[str]] = {
    "ru": ["Интересно", "Читайте", "Новости партнёров"],
    "kk": ["Оқыңыз", "Қызықты"],
    "ky": ["Окуңуз", "Кызыктуу"],
    "uz-Latn": ["O‘qing", "Qiziq"],
    "uz-Cyrl": ["Ўқинг", "Қизиқ"],
    "tg": ["Хонед", "Ҷолиб"],
    "tk": ["Okaň", "Gyzykly"],
    "en": ["Worth reading", "Via partners"],
    "ar": ["للقراءة", "مثير للاهتمام"],
}

NEWS = Texts(CITIES, TEMPLATES, FLAGGED_TEMPLATES, LANG_WEIGHTS, max_n=30)

# ---- OK group topics: fewer templates, and one code ("uz") for Uzbek -------------------------

# fmt: off
_OK_CITIES: dict[str, list[str]] = {
    "ru": ["Алматы", "Бишкек", "Ташкент", "Душанбе", "Астана"],
    "kk": ["Алматы", "Астана", "Шымкент", "Қарағанды"],
    "ky": ["Бишкек", "Ош", "Каракол", "Нарын"],
    "uz": ["Toshkent", "Samarqand", "Buxoro", "Namangan"],
    "tg": ["Душанбе", "Хуҷанд", "Кӯлоб", "Бохтар"],
    "en": ["Almaty", "Bishkek", "Tashkent", "Dushanbe"],
}
_OK_TEMPLATES: dict[str, list[str]] = {
    "ru": ["{city}: в выходные пройдёт ярмарка, ожидается {n} участников.",
           "{city}: открылся новый детский сад на {n} мест.",
           "{city}: автобусный маршрут №{n} продлён до вокзала."],
    "kk": ["{city}: демалыс күндері жәрмеңке өтеді, {n} қатысушы күтілуде.",
           "{city}: {n} орындық жаңа балабақша ашылды."],
    "ky": ["{city}: дем алыш күндөрү жарманке өтөт, {n} катышуучу күтүлүүдө.",
           "{city}: {n} орундуу жаңы бала бакча ачылды."],
    "uz": ["{city}: dam olish kunlari yarmarka bo‘ladi, {n} ishtirokchi kutilmoqda.",
           "{city}: {n} o‘rinli yangi bolalar bog‘chasi ochildi."],
    "tg": ["{city}: дар рӯзҳои истироҳат ярмарка мегузарад, {n} иштирокчӣ интизор аст.",
           "{city}: кӯдакистони нав барои {n} кӯдак кушода шуд."],
    "en": ["{city}: a weekend fair expects {n} stallholders.",
           "{city}: bus route {n} now runs to the railway station."],
}
_OK_FLAGGED: dict[str, list[str]] = {
    "ru": ["Суд рассмотрел дело о членстве в ИГИЛ (организация запрещена в России).",
           "Верховный суд подтвердил запрет организации «Хизб ут-Тахрир»."],
    "kk": ["Сот «Ислам мемлекеті» ұйымына мүшелік туралы істі қарады."],
    "ky": ["Сот «ИШИД» уюмуна мүчө болгону боюнча ишти карады."],
    "uz": ["Sud «Islom davlati» tashkilotiga a’zolik bo‘yicha ishni ko‘rib chiqdi."],
    "tg": ["Суд парвандаи узвият дар созмони «ДИИШ»-ро баррасӣ кард."],
    "en": ["Court hears case about ISIS membership."],
}
_OK_WEIGHTS: dict[str, int] = {"ru": 40, "kk": 12, "ky": 12, "uz": 14, "tg": 12, "en": 10}
# fmt: on

OK_NEWS = Texts(_OK_CITIES, _OK_TEMPLATES, _OK_FLAGGED, _OK_WEIGHTS, max_n=40)

# The old pinned post on top of the first community or group.
VK_WELCOME = "Добро пожаловать в сообщество городских новостей. Правила публикаций ниже."
OK_WELCOME = "Добро пожаловать в группу городских новостей. Правила публикаций — в описании."
