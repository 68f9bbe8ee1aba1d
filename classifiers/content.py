"""Content topics in two tiers: co-occurrence rules that flag, and candidate words that do not.

A content lexicon (configs/lexicons/content/<topic>.yaml) names groups of short cues and the
rules that combine them: a post gets the topic when every group of one rule has a hit ("join"
+ "the brothers in Sham"; a payment channel + "for the mujahideen"). Its candidates are the
broad religious-militant vocabulary that is mostly benign alone: they never tag, but mark the
post borderline (a `borderline_<topic>` signal), so review sampling over-samples it and the
reviewed estimate corrects for what the rules miss.

```yaml
topic: recruitment
source: "..."
cues:
  call_to_join: [{term: "присоединяйтесь", lang: [ru], mode: stem}]
  destination: [{term: "Шам", lang: [ru], mode: word}]
rules:
  - [call_to_join, destination]
candidates: [{term: "хиджра", lang: [ru], mode: stem}]
typed: {call_to_join: [handle]}     # optional: shapes that also hit a group (typed_cues)
```
Cues are matched as lexicon terms are (classifiers.lexicon_files.Term), in the same automaton
and over the same normalised text as the names (LexiconTagger's `content`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from classifiers import yaml_text
from classifiers.base import CONTENT_TOPICS, Signal, Topic, TopicMatch
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, Lexicon, LexiconError, Term
from classifiers.typed_cues import TypedKind, find_typed

__all__ = [
    "CANDIDATES",
    "DEFAULT_CONTENT_DIR",
    "RULES_FAMILY",
    "ContentLexicon",
    "Rules",
    "apply_rules",
    "load_content_lexicons",
    "rules_of",
    "typed_matches",
    "typed_of",
]

# Per content topic, its rules: each a tuple of cue group names that must all have a hit.
Rules = dict[str, list[tuple[str, ...]]]
# Per content topic, (cue group, shapes that hit it).
Typed = dict[str, list[tuple[str, tuple[TypedKind, ...]]]]

DEFAULT_CONTENT_DIR = DEFAULT_LEXICON_DIR / "content"
# The family of a match made by a rule, and the lexicon family of the candidate words.
RULES_FAMILY = "content_rules"
CANDIDATES = "candidates"
Group = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class ContentLexicon(BaseModel):
    """One content topic's cues, rules and candidate words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic
    source: str = Field(min_length=1)
    cues: dict[Group, list[Term]] = Field(min_length=1)
    rules: list[list[Group]] = Field(min_length=1)
    candidates: list[Term] = Field(default_factory=list)
    # Shapes that also hit a cue group: {payment: [card, crypto]} (classifiers.typed_cues).
    typed: dict[Group, list[TypedKind]] = Field(default_factory=dict)

    def lexicons(self) -> list[Lexicon]:
        """The cue groups and candidates as lexicons (family: group name or `candidates`)."""
        made = [
            Lexicon(topic=self.topic, family=group, source=self.source, terms=terms, tier="cue")
            for group, terms in self.cues.items()
            if terms
        ]
        if self.candidates:
            made.append(
                Lexicon(
                    topic=self.topic,
                    family=CANDIDATES,
                    source=self.source,
                    terms=self.candidates,
                    tier="candidate",
                )
            )
        return made


def load_content_lexicons(paths: Sequence[Path] = (DEFAULT_CONTENT_DIR,)) -> list[ContentLexicon]:
    """Read content lexicons from files or folders; every problem as `path: key: problem`."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    problems: list[str] = []
    found: list[ContentLexicon] = []
    for file in files:
        try:
            raw = yaml_text.safe_load(file.read_text(encoding="utf-8"))
            lexicon = ContentLexicon.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{file}: cannot be read: {exc} (check the file)")
            continue
        except ValidationError as exc:
            problems.extend(
                f"{file}: {'.'.join(map(str, e['loc']))}: {e['msg']} "
                "(see the format in classifiers/content.py)"
                for e in exc.errors()
            )
            continue
        if lexicon.topic not in CONTENT_TOPICS:
            problems.append(
                f"{file}: topic: {lexicon.topic!r} is not a content topic "
                f"(use one of {', '.join(CONTENT_TOPICS)})"
            )
        for group in lexicon.typed:
            if group not in lexicon.cues:
                problems.append(
                    f"{file}: typed.{group}: not a cue group (name a group listed under cues)"
                )
        for number, rule in enumerate(lexicon.rules):
            unknown = [group for group in rule if group not in lexicon.cues]
            if unknown or not rule:
                problems.append(
                    f"{file}: rules.{number}: unknown or no cue group {unknown} "
                    "(name groups listed under cues)"
                )
        found.append(lexicon)
    if problems:
        raise LexiconError("\n".join(problems))
    return found


def rules_of(lexicons: Sequence[ContentLexicon]) -> Rules:
    """The rules of each topic's lexicon(s)."""
    rules: Rules = {}
    for lexicon in lexicons:
        rules.setdefault(lexicon.topic, []).extend(tuple(rule) for rule in lexicon.rules)
    return rules


def typed_of(lexicons: Sequence[ContentLexicon]) -> Typed:
    """Per topic, the cue groups that shapes hit and which shapes."""
    typed: Typed = {}
    for lexicon in lexicons:
        for group, kinds in sorted(lexicon.typed.items()):
            typed.setdefault(lexicon.topic, []).append((group, tuple(kinds)))
    return typed


def typed_matches(text: str, topics: Iterable[str], typed: Typed) -> list[TopicMatch]:
    """Cue matches for the shapes in text (a card number, a link...), for the given topics
    only: the posts whose words already hit a cue of that topic."""
    wanted = [(topic, group, kinds) for topic in topics for group, kinds in typed.get(topic, ())]
    if not wanted:
        return []
    found = find_typed(text)
    return [
        TopicMatch(
            topic=topic, family=group, term=f"<{kind}>", start=found[kind][0],
            end=found[kind][1], lang=(), tier="cue",
        )
        for topic, group, kinds in wanted
        for kind in kinds
        if kind in found
    ]  # fmt: skip


def apply_rules(
    cues: Sequence[TopicMatch], rules: Rules, text: str
) -> tuple[list[TopicMatch], list[Signal]]:
    """Topics whose rules the cues meet (one match per topic, spanning its cues), and a
    borderline signal for each topic with cues but no rule met."""
    hits: dict[str, dict[str, list[TopicMatch]]] = {}
    for match in cues:
        hits.setdefault(match.topic, {}).setdefault(match.family, []).append(match)
    matches: list[TopicMatch] = []
    signals: list[Signal] = []
    for topic, groups in sorted(hits.items()):
        met = next(
            (rule for rule in rules.get(topic, ()) if all(g in groups for g in rule)),
            None,
        )
        if met is None:
            first = min((m for found in groups.values() for m in found), key=lambda m: m.start)
            signals.append(
                Signal(f"borderline_{topic}", first.start, first.end, text[first.start : first.end])
            )
            continue
        used = sorted((groups[g][0] for g in dict.fromkeys(met)), key=lambda m: m.start)
        matches.append(
            TopicMatch(
                topic=topic,
                family=RULES_FAMILY,
                term=" + ".join(m.term for m in used),
                start=used[0].start,
                end=max(m.end for m in used),
                lang=tuple(sorted({code for m in used for code in m.lang})),
            )
        )
    return matches, signals
