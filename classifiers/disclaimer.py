"""The legally required "banned in ..." disclaimers that mark news mentions of designated names.

Russian and regional media must mark a designated name: «(запрещена в РФ)», «ИГ*», «*
Rossiyada taqiqlangan terrorchilik tashkiloti», «(Қазақстанда тыйым салынған)», «(организации,
запрещенные в Кыргызстане)». A disclaimer does not remove a topic tag; it is recorded as a
`news_disclaimer` signal so analysts can tell news mentions apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from classifiers.base import Signal, TopicMatch
from classifiers.normalize import Normalized, original_span

__all__ = ["ANCHORS", "NEWS_DISCLAIMER", "find_disclaimers"]

NEWS_DISCLAIMER = "news_disclaimer"

# Every phrase below contains one of these, so a matcher that already scans the text for them
# (the lexicon automaton) tells whether the phrases need looking for at all.
ANCHORS = (
    "запрещ",
    "taqiqlangan",
    "тақиқланган",
    "тыйым салын",
    "тыюу салын",
    "banned in",
    "outlawed in",
    "манъ",
    "мамнӯъ",
)
_COUNTRY_RU = (
    r"(?:рф|росси\w*|российской федерации|казахстан\w*|кыргызстан\w*|киргизи\w*"
    r"|таджикистан\w*|узбекистан\w*|кр|рк|рт)"
)
_PHRASES = re.compile(
    "|".join(
        (
            rf"запрещен\w*(?: (?:к деятельности )?(?:на территории|в|во))? {_COUNTRY_RU}\b",
            rf"(?:в )?{_COUNTRY_RU} запрещен\w*",
            r"[\w']+(?:da|de|ta|te) taqiqlangan",
            r"\w+(?:да|де|та|те) тақиқланган",
            r"\w+(?:да|де|та|те) тыйым салын\w*",
            r"\w+(?:да|де|до|дө|та|те|то|тө) тыюу салын\w*",
            r"(?:banned|outlawed) in (?:the )?(?:russia\w*|kazakhstan|kyrgyzstan|tajikistan"
            r"|uzbekistan)(?: federation)?",
            r"(?:дар )?\w+ (?:манъ|мамнӯъ)(?: аст| шудааст| карда шудааст)?",
        )
    )
)
# A phrase counts without a tagged name nearby only when set off as a footnote or aside.
_FOOTNOTE_WINDOW = 40
# Closing quotes or brackets may stand between a name and its asterisk: «Хизб ут-Тахрир»*.
_CLOSERS = "»\"'”’)]"


def find_disclaimers(
    norm: Normalized, text: str, matches: Sequence[TopicMatch], anchored: bool | None = None
) -> list[Signal]:
    """Disclaimer phrases and asterisks right after a designated name, as Signals.

    anchored says whether norm contains one of ANCHORS; None looks for them here.
    """
    signals: list[Signal] = []
    named = [m for m in matches if m.topic == "designated_org"]
    for match in named:
        star = match.end
        while star < len(text) and text[star] in _CLOSERS:
            star += 1
        if star < len(text) and text[star] == "*":
            signals.append(Signal(NEWS_DISCLAIMER, star, star + 1, "*"))
    folded = norm.text
    if anchored is None:
        anchored = any(anchor in folded for anchor in ANCHORS)
    if anchored:
        for phrase in _PHRASES.finditer(folded):
            if named or _set_off(folded, phrase.start()):
                start, end = original_span(norm, text, *phrase.span())
                signals.append(Signal(NEWS_DISCLAIMER, start, end, text[start:end]))
    return sorted(set(signals), key=lambda signal: (signal.start, signal.end, signal.text))


def _set_off(folded: str, start: int) -> bool:
    """True when an opening bracket or asterisk comes shortly before the phrase."""
    before = folded[max(0, start - _FOOTNOTE_WINDOW) : start]
    opened = max(before.rfind("("), before.rfind("*"))
    return opened >= 0 and ")" not in before[opened:]
