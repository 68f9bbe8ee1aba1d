"""Content topics: rules of co-occurring cues tag a post; single cues and candidates only mark it."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.content import RULES_FAMILY, load_content_lexicons
from classifiers.lexicon import LexiconTagger
from classifiers.lexicon_files import LexiconError

# Fictional cue words, so the test says nothing about the shipped lexicons.
RECRUITMENT = """
topic: recruitment
source: synthetic test cues
cues:
  call: [{term: "zorb with us", lang: [en], mode: word}, {term: "зорбуй", lang: [ru], mode: stem}]
  place: [{term: "Quillon valley", lang: [en], mode: word}]
  contact: [{term: "ping the kelmar", lang: [en], mode: word}]
  strong: [{term: "grand zorbing call", lang: [en], mode: word}]
rules:
  - [strong]
  - [call, place]
  - [call, contact]
candidates: [{term: "valley brothers", lang: [en], mode: word}]
"""


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> LexiconTagger:
    path = tmp_path_factory.mktemp("content") / "recruitment.yaml"
    path.write_text(RECRUITMENT, encoding="utf-8")
    return LexiconTagger([], content=load_content_lexicons([path.parent]))


def test_a_rule_whose_every_group_has_a_hit_tags_the_topic(tagger: LexiconTagger) -> None:
    text = "Zorb with us in the Quillon valley, friends."
    matches, signals = tagger.tag_with_signals(text)
    (match,) = matches
    assert (match.topic, match.family) == ("recruitment", RULES_FAMILY)
    assert match.term == "zorb with us + Quillon valley"
    assert text[match.start : match.end] == "Zorb with us in the Quillon valley"
    assert signals == []


def test_one_group_alone_only_marks_the_post_borderline(tagger: LexiconTagger) -> None:
    matches, signals = tagger.tag_with_signals("They said zorb with us, nothing more.")
    assert matches == []
    assert [s.name for s in signals] == ["borderline_recruitment"]


def test_a_strong_cue_tags_alone_and_a_candidate_never_does(tagger: LexiconTagger) -> None:
    assert [m.topic for m in tagger.tag_with_signals("the grand zorbing call is out")[0]] == [
        "recruitment"
    ]
    matches, signals = tagger.tag_with_signals("greetings to the valley brothers")
    assert matches == [] and [s.name for s in signals] == ["borderline_recruitment"]


def test_cues_match_with_endings_and_in_the_other_alphabet(tagger: LexiconTagger) -> None:
    matches, _ = tagger.tag_with_signals("Зорбуйте! ping the kelmar")
    assert [m.topic for m in matches] == ["recruitment"]


def test_bad_files_are_reported_by_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RECRUITMENT.replace("  - [call, contact]", "  - [call, nowhere]"), "utf-8")
    with pytest.raises(
        LexiconError, match=r"bad.yaml: rules.2: unknown or no cue group \['nowhere'\]"
    ):
        load_content_lexicons([bad])
    bad.write_text(RECRUITMENT.replace("topic: recruitment", "topic: designated_org"), "utf-8")
    with pytest.raises(LexiconError, match="is not a content topic"):
        load_content_lexicons([bad])


FINANCING = """
topic: financing
source: synthetic test cues
cues:
  payment: [{term: "blorp it over", lang: [en], mode: word}]
  purpose: [{term: "for the kelmar fighters", lang: [en], mode: word}]
rules:
  - [payment, purpose]
typed:
  payment: [card, crypto]
"""


def financing_tagger(tmp_path: Path, text: str = FINANCING) -> LexiconTagger:
    path = tmp_path / "financing.yaml"
    path.write_text(text, encoding="utf-8")
    return LexiconTagger([], content=load_content_lexicons([path]))


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("4400 1234 5678 9012 for the kelmar fighters", ["financing"]),
        ("wallet TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE, for the kelmar fighters", ["financing"]),
        ("for the kelmar fighters, details in [CARD]", ["financing"]),  # an export's placeholder
        ("for the kelmar fighters, call 2024 or 15 times", []),  # no card, no wallet
        ("4400 1234 5678 9012 for the sick child", []),  # a card alone is no topic
    ],
)
def test_a_card_number_or_wallet_hits_the_payment_group(
    tmp_path: Path, text: str, topics: list[str]
) -> None:
    assert [m.topic for m in financing_tagger(tmp_path).tag(text)] == topics


def test_typed_cues_are_part_of_the_version(tmp_path: Path) -> None:
    with_typed = financing_tagger(tmp_path).version
    without = financing_tagger(tmp_path, FINANCING.replace("  payment: [card, crypto]\n", "")
                               .replace("typed:\n", "")).version  # fmt: skip
    assert with_typed != without


def test_typed_must_name_a_cue_group(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"typed\.wallet: not a cue group"):
        financing_tagger(tmp_path, FINANCING + "  wallet: [crypto]\n")


def test_shapes_in_text() -> None:
    from classifiers.typed_cues import find_typed

    text = "card 4400-1234-5678-9012, tel +7 701 234 56 78, @brother_x, t.me/somechan, in 2024"
    found = find_typed(text)
    assert {kind: text[a:b] for kind, (a, b) in found.items()} == {
        "card": "4400-1234-5678-9012",
        "phone": "+7 701 234 56 78",
        "handle": "@brother_x",
        "link": "t.me/somechan",
    }
    assert find_typed("mail me at a@example.org on 12.05.2024 at 10:30") == {}
