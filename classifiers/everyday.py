"""Everyday life around a topic only the model finds: a borderline mark, not a tag.

A topic model of word and letter n-grams learns a content post's *shape* as well as its
meaning: "lesson [N] is up, link in the pinned post", a live stream, gifts to a card, "our
lions". Ordinary posts share those shapes: a cooking lesson, a football match streamed live, a
wedding fund, wrestlers who won gold. A topic that the model flags and no rule confirms
(`either` and `model` modes), or that a content rule meets by a post's shape (every mode), in a
post with a word of an everyday domain (configs/context.yaml `everyday`) and nothing of the
militant register, becomes a `borderline_<topic>` mark: review sampling over-samples it and the reviewed estimate counts it,
but it is not a flagged post. The register is a word of configs/context.yaml `register`, a
name of an organisation or outlet, a word in quotes written in small letters (a code word:
«салют», 'tuition'), or the black flag or pistol emoji.
"""

from __future__ import annotations

from collections.abc import Iterable

from classifiers import context
from classifiers.base import Signal, TopicMatch
from classifiers.lexicon_files import OUTLETS_FAMILY
from classifiers.normalize import normalize

__all__ = ["EVERYDAY", "EVERYDAY_EMOJI", "REGISTER_EMOJI", "everyday_veto", "vetoed"]

# The signal naming the everyday word that turned the model's topics into borderline marks.
EVERYDAY = "everyday_context"
# Sport, dishes, weddings and nature: an emoji of these is an everyday word too (not cakes,
# pans or books, which content posts use as code: «торт» 🎂, «Oshxona» darslari 🍳).
EVERYDAY_EMOJI = frozenset(
    "⚽🏀🏐🏈🎾🏒🥊🥋🏆🥇🥈🥉🏅⛹🍕🍔🌯🥙🍲🥟🍚🍛🍜🍝🥗🥘☕🎈💍👰🤵🌷🌻🌸🐦🎣"
)
# The black flag and a pistol stand for the register on their own (a raised finger, a bomb or
# fireworks are everyday emoji too).
REGISTER_EMOJI = frozenset("🏴🔫")


def everyday_veto(
    text: str, model_only: Iterable[str], matches: Iterable[TopicMatch]
) -> list[Signal]:
    """The marks that replace the model-only topics of text, or [] when they stand.

    model_only: the model's topics that no rule matched, or the topics of rules just met;
    matches: the post's lexicon matches (a name of an organisation or outlet keeps them)."""
    topics = sorted(set(model_only))
    if not topics or any(
        m.topic == "designated_org" or m.family == OUTLETS_FAMILY for m in matches
    ):
        return []
    norm = normalize(text)
    found = context.everyday(norm.text)
    if found is not None:
        span = (norm.offsets[found[0]], norm.offsets[found[1] - 1] + 1)
    else:
        emoji = next((i for i, c in enumerate(text) if c in EVERYDAY_EMOJI), None)
        if emoji is None:
            return []
        span = (emoji, emoji + 1)
    if _register(text, norm.text):
        return []
    word = text[span[0] : span[1]]
    return [
        Signal(EVERYDAY, *span, word),
        *(Signal(f"borderline_{topic}", *span, word) for topic in topics),
    ]


def vetoed(signals: Iterable[Signal]) -> bool:
    """Whether everyday context turned the model's own topics into marks (everyday_veto)."""
    return any(s.name == EVERYDAY for s in signals)


def _code_word(quoted: str) -> bool:
    """One or two words in quotes, the first in small letters: a code word («салют»,
    'tuition'); a capitalised one is a name («Динамо»)."""
    words = quoted[1:-1].split()
    return 0 < len(words) <= 2 and words[0][:1].isalpha() and words[0][:1].islower()


def _register(text: str, normalized_text: str) -> bool:
    return (
        context.in_register(normalized_text)
        or not REGISTER_EMOJI.isdisjoint(text)
        or any(_code_word(quoted.group()) for quoted in context.QUOTED.finditer(text))
    )
