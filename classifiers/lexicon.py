"""Lexicon matching: every term of every lexicon in one Aho-Corasick automaton, then checks."""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ahocorasick_rs

from classifiers import tagger_cache
from classifiers.base import Signal, TopicMatch
from classifiers.confusables import DIGIT_LIKE
from classifiers.content import (
    DEFAULT_CONTENT_DIR,
    ContentLexicon,
    Rules,
    Typed,
    apply_rules,
    load_content_lexicons,
    rules_of,
    typed_matches,
    typed_of,
)
from classifiers.context import ARABIC_DEFINITE, has_context, reports_on, unclear
from classifiers.context import digest as context_digest
from classifiers.disclaimer import ANCHORS, find_disclaimers
from classifiers.evasion import evasion_views
from classifiers.evasion_translit import transliterations
from classifiers.everyday import everyday_veto
from classifiers.lexicon_files import (
    DEFAULT_LEXICON_DIR,
    OUTLETS_FAMILY,
    Layer,
    Lexicon,
    LexiconError,
    Mode,
    Term,
    load_lexicons,
)
from classifiers.normalize import (
    BOXED_CAPITALS,
    SEPARATORS,
    Normalized,
    normalize,
    original_span,
    squeeze,
)
from classifiers.ordinary_words import is_ordinary, is_small_word
from classifiers.spelling import (
    MIN_SINGLE,
    NameStarts,
    fold_name,
    fold_word,
    keyed_spans,
    spelling_cache,
    split_words,
    vowel_classes,
)

__all__ = [
    "EVASION",
    "MATCHER_VERSION",
    "Layer",
    "Lexicon",
    "LexiconError",
    "LexiconTagger",
    "Mode",
    "Term",
    "TopicMatch",
    "build_tagger",
    "content_hash",
    "load_lexicons",
]

# Bump when matching rules change, so that stored tags are recomputed even if lexicons are not.
# 2: evasion readings (spelled-out letters, look-alikes, digits, camel-case hashtags),
# transliterated spellings, abbreviations with small-letter endings, exclude phrases.
# 4: designated names also matched on their spelling keys (classifiers.spelling); acronyms in
# any case unless they are ordinary words; acronyms with everyday meanings need context.
# 7: member derivatives after capitals (ИДУшники) and context for names marked needs_context;
# boxed emoji letters and "$" in Cyrillic words read as letters.
# 8: homonyms and historic states need context (configs/context.yaml); short one-word names
# folded after a hyphened article; «уаль» is "and the".
# 9: Russian forms of the Taliban's name; member derivatives in small letters («идушники»);
# Turkic case endings on Latin acronyms («HTSga»); capitals out of place («iSiS»).
# 10 (from blind11 and blind12): Arabizi, soft c, the construct-state article, follower suffixes
# on names, syllables and dots, ş/ç and Cyrillic forms of mixed-case acronyms, longer Turkic
# chains, English names in Cyrillic title case, surnames, evasion readings must cover evasion.
# 11 (from blind13-blind20): small-letter «игил» beside no instrument word, mixed-case acronyms
# in small letters with context, an apostrophe inside an Uzbek word hides no context stem,
# «-шный» after capitals; short names found on their key after an article need their vowels
# ("an-Nasr" is not "an-Nusra").
# 12 (from blind20's misses): the Arabic article written apart ("ال قاعدة"), "and" in small
# letters inside a camel-case hashtag ("#TavhidvaJihod").
# 13 (from blind21's misses): a Turkic case ending after a short name's own letters
# ("әл-Каидаға"); Arabic keys read ت for ة at a word's end (جبهت) and ئ as أ (هيأة).
# 14 (from blind23 and blind24): an outlet named in a post reporting on it (researchers,
# analysts, a takedown: configs/context.yaml, reporting) is a borderline mark, not a tag.
# 15 (from blind24): a topic only the model finds, in a post of everyday life without the
# militant register, is a borderline mark (classifiers.everyday); configs/context.yaml is part
# of the version's hash.
# 16 (from blind25 and blind26): an article written apart before a capitalised name ("Ал
# Кайда"); exclusions written with the acronym in capitals apply to it in capitals ("ISIS
# neutron"); Turkic stem terms take fourteen letters of suffixes; a content rule met in a post
# of everyday life without the militant register is a mark, as the model's topics are.
# 17 (from blind28): the article «эл-» (Kyrgyz), member plurals «-овтар», a Latin acronym that
# is also an English word ("isis") counts amid another script's sentence.
# 18 (from blind29): a name guards only its capitalised form ("Isis" may be the goddess; "isis"
# all in small letters is the acronym): configs/ordinary_words.yaml records the forms accepted.
# 19 (from blind27): an everyday word in quotes is a code name, not everyday life («Огурцы»);
# apostrophes inside words are no quotes (Uzbek «to'y»); explosives are the register.
# 20 (from the acronym_case misses of blind3-blind33, 2026-12-05): a Latin acronym of three
# letters counts in small letters or capitalised when no dictionary knows it as a word or name
# ("iju", "Ktj"), as four letters did; acronyms with everyday readings still need context.
# 21 (from blind34, after its first run): a member derivative before punctuation
# ("нусровцев."), Gulf Arabizi 6 and 9 (ط, ص: "6aliban"), an Arabic name whose words all take
# the article needs it on the first ("دولة إسلامية" is an Islamic state), and in a post about a
# historic state "caliphate" is that state's word, not context (configs/context.yaml).
# 22 (from blind35): an Arabic homonym keeps its ordinary sense after the article and clitics
# («الطالبان», the two students, in a post about a contest).
# 23 (from the misses left over blind3-blind35, before blind36 was read): an acronym with
# everyday readings written as a proper noun inside a sentence ("the old Imu network", «про
# Иду пишут»); an Arabic one-word name's feminine and plural adjective («الطالبانية»); the
# follower suffix -i ("a former Daeshi"); an Arabic homonym stretched with tatweel (القـاعـدة).
# 24 (review of 23): the proper-noun rule takes the acronym alone («Идумея», «Идут» are words)
# and only right after a word, a number or a comma (not after a smiley or an emoji); a
# stretched homonym beside the words of its ordinary sense stays ordinary.
MATCHER_VERSION = "24"
# Signal name for a designated name found only through an evasion reading ("Д.А.И.Ш", "ДAИШ").
EVASION = "evasive_spelling"

_SEPARATOR_CLASS = "[" + re.escape(SEPARATORS) + "]"
_SPLIT_RE = re.compile(_SEPARATOR_CLASS + "+")
_SEPARATOR_RE = re.compile(_SEPARATOR_CLASS)
# One space, hyphen or " - " between words, or nothing ("Хизбут-Тахрир", "#ХизбутТахрир").
_GAP = _SEPARATOR_CLASS + "{0,3}"
# stem mode: up to five letters of case ending or suffix after each word; abbreviations take
# them too ("ИГИЛа", "IShIDning"), but only in small letters (checked on the original text).
_ENDING = r"[^\W\d_]{0,5}"
# Turkic languages chain suffixes (Uzbek "katiba-si-dagi-lar-ning", Kazakh "мемлекет-тер-інің"):
# their stem terms take up to fourteen letters after each word.
_LONG_ENDING = r"[^\W\d_]{0,14}"
_ABBR_ENDING = r"[^\W\d_]{1,10}"
_AGGLUTINATIVE = frozenset({"kk", "ky", "uz", "tk", "tt", "az", "ba"})
# Automaton value of a disclaimer anchor, in place of an entry index.
_ANCHOR = -1
# Abbreviations this short are left untransliterated: "ИДУ" -> "IDU" is a health acronym.
_MIN_TRANSLIT_ABBR = 4
# The match must not run on into a letter or digit (underscore is a separator, not a letter).
_END = r"(?![^\W_])"
# Arabic clitics written together with the next word: wa-/fa- (and), bi-/li-/ka- (in, for,
# like) and the article al-; li- + al- is written لل. Terms starting with ال are matched
# without it so that the contracted form is found as well.
_ARABIC_ARTICLE = "ال"
_ARABIC_PREFIX_RE = re.compile("[وف]?[بكل]?(?:ال)?")
_ARABIC_ARTICLE_PREFIX_RE = re.compile("[وف]?[بك]?ال|[وف]?لل")
_MAX_ARABIC_PREFIX = 4
# Acronyms this short are matched only in their own capitals: "иг", "ди" are too common.
_MIN_ANY_CASE = 3
_BARE_WORD = 3
_MAX_CAPITAL_ENDING = 3
_MIN_BARE_ACRONYM = 4
# Case endings a Russian acronym takes ("ИГИЛа", "ИГИЛом"), and Turkic and Tajik ones in
# Cyrillic ("ИГИЛге", "ДАИШтин", "ҲИУ-ро").
_RUSSIAN_CASE = re.compile(r"(?:а|у|ом|е|ы|ов|ам|ами|ах)")
_TURKIC_CASE_CYRILLIC = re.compile(
    r"(?:[гкқғ][аеә]|[дт][аеә]|[дтн][аеә]н|[дтн][ыі]ң|[дтн][иы]н|[дтн]ин[иг]|нинг|[дтн][ыіи]|ро"
    r"|л[аеә]р[^\W\d_]{0,6}|д[аеә]ги|[дт][аеә]гы)"
)


def _case_ending(ending: str, langs: Sequence[str]) -> bool:
    if _TURKIC_CASE.fullmatch(ending) or _TURKIC_CASE_CYRILLIC.fullmatch(ending):
        return True
    return "ru" in langs and _RUSSIAN_CASE.fullmatch(ending) is not None


# A derivative naming a member or follower of what the acronym names ("ИДУшники", "ТИПовцы",
# "HTSchilar", "ИГИЛчи", "DAIŞçy"): ordinary words do not take it after capitals, so it makes
# the organisation reading clear, as a context word would.
_MEMBER_SUFFIX = re.compile(
    r"(?:ш?ник|шн[аыоие]|[ое]?вц|[ое]?вец|[ое]вск|[ое]в[тдл][аеыі]р|ист|ч[иыу]|ш[ыі]|chi|çy|çi|ci|и[её]н|изаци|izati|isati|ers?\b)",
    re.IGNORECASE,
)
# A Turkic case ending on a Latin acronym in capitals ("HTSga", "IMUning", "TTP-den"): the
# acronym's everyday English readings (a screening method, a sensor) take none.
_TURKIC_CASE = re.compile(
    r"(?:g['ʻʼ‘’]?a|ga|ka|qa|ge|ke|da|ta|de|te|dan|tan|den|ten|ning|nin|niň|nyň|ni|ny|"
    r"dagi|daky|däki|lar|ler)",
    re.IGNORECASE,
)


# Letters a folded name may run on by in its last word: a case ending or a Turkic suffix
# chain ("Нусрой", "аш-Шамның", "мемлекетінің"); a single-word key only a case ending.
_FOLD_WORD_ENDING = 3
# The Arabic article written before a name, in Latin or Cyrillic letters (al-, el-, ul-, аль-,
# эль-, әл-, ал-, and the assimilated an-, ash-...): first in a term; in the text, joined to
# the name by a hyphen ("al kadar" is Turkish for "this much").
_ARTICLES = "al|el|ul|an|ash|as|at|ad|ar|az|аль|эль|эл|әл|ал|ан|аш|ас|ат|ад|ар|аз"
_ARTICLE_FIRST = re.compile(f"(?:{_ARTICLES})[-\\s\u2010\u2011]")
_ARTICLE_LAST = re.compile(f"(?<![^\\W_])(?:{_ARTICLES})[-\u2010\u2011]$")
_MIN_ARTICLE_KEY = 3
_FOLD_STEM_ENDING = 12


@dataclass(frozen=True, slots=True)
class _FoldEntry:
    lexicon: Lexicon
    term: Term
    ending: int
    # Folded exclude phrases: a match whose folded text starts with one of them is vetoed.
    excludes: tuple[str, ...]
    # A one-word name too short for a key of its own ("al-Qaida": "kad") counts only after an
    # article in the text ("Al-Kaýda", "аль-Каеда").
    needs_article: bool = False
    # A name matched in its own letters only in title case ("Islamic State", not "an Islamic
    # state") counts in another alphabet only so too («Исламик Стейт»).
    title_case: bool = False
    # A needs_article name's vowels by class (spelling.vowel_classes): its key is short, so the
    # vowels it folds away must be there ("an-Nasr" is not "an-Nusra", "an-Nabi" not "an-Naba").
    vowels: str = ""
    # An Arabic name all of whose words carry the article (الدولة الإسلامية): without it on
    # the first word the same letters are a common noun phrase ("دولة إسلامية", an Islamic
    # state), which the spelling key cannot tell apart, since it drops the article.
    arabic_definite: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    lexicon: Lexicon
    term: Term
    # Compiled on the first post that reaches it: most of the ~20,000 generated spellings
    # never occur in a given run, and building them all up front cost seconds per process.
    pattern: _LazyRegex
    # Upper/lower pattern of the term's letters; only abbr terms are case-sensitive.
    case: tuple[bool, ...] | None
    excludes: frozenset[str]
    # Exclude entries as normalised phrases, which veto a match they cover ("иг ран").
    phrases: tuple[str, ...]
    arabic_prefix: re.Pattern[str] | None
    # abbr only: the acronym in small letters or capitalised is a word or a name; and whether
    # all in small letters it is a word (a name is written with its capital: "Isis").
    ordinary: bool = False
    small_word: bool = False

    def __reduce__(self) -> tuple[type[_Entry], tuple[object, ...]]:
        # Pickled by its fields in order (the tagger cache holds ~20,000): a frozen dataclass's
        # own __setstate__ looks its fields up per object, most of a cache load's time.
        return (_Entry, tuple(getattr(self, name) for name in self.__slots__))


def build_tagger(
    lexicon_paths: Sequence[Path] | None = None,
    content_paths: Sequence[Path] | None = None,
    *,
    spelling_keys: bool = True,
) -> LexiconTagger:
    """Names and content rules as a crawl tags posts: the lexicons of lexicon_paths (default:
    the shipped ones) and the content rules of content_paths (default: the shipped ones;
    [] for none). A bad file raises LexiconError listing every problem."""
    if content_paths is None:
        content_paths = [DEFAULT_CONTENT_DIR] if DEFAULT_CONTENT_DIR.is_dir() else []
    names = list(lexicon_paths or [DEFAULT_LEXICON_DIR])
    # A tagger is read-only once built, so one process (a test worker, `classify
    # --reclassify`) reuses it while none of its files has changed.
    # The context words are part of the version (content_hash), so of the key too.
    key = (spelling_keys, _file_stamps(names), _file_stamps(content_paths), context_digest())
    tagger = _BUILT.get(key)
    # Another process may have compiled the shipped lexicons already (classifiers.tagger_cache).
    on_disk = None not in key and tagger_cache.shipped([*names, *content_paths])
    if tagger is None and on_disk:
        tagger = tagger_cache.load(key, LexiconTagger)
    if tagger is None:
        tagger = LexiconTagger(
            load_lexicons(names),
            spelling_keys=spelling_keys,
            content=load_content_lexicons(content_paths) if content_paths else (),
        )
        if on_disk:
            tagger_cache.store(key, tagger)
    if None not in key and key not in _BUILT:
        if len(_BUILT) >= _BUILT_LIMIT:
            _BUILT.clear()
        _BUILT[key] = tagger
    return tagger


_BUILT: dict[tuple[object, ...], LexiconTagger] = {}
_BUILT_LIMIT = 4


def _file_stamps(paths: Sequence[Path]) -> tuple[tuple[str, str], ...] | None:
    """Path and content digest of every YAML file under paths (~2 ms for the shipped ones);
    None if one cannot be read (the tagger is then built, and the loader says what is wrong)."""
    stamps = []
    try:
        for path in map(Path, paths):
            for file in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
                digest = hashlib.blake2b(file.read_bytes(), digest_size=16).hexdigest()
                stamps.append((str(file.resolve()), digest))
    except OSError:
        return None
    return tuple(stamps)


class LexiconTagger:
    """Tag posts with the topics of the lexicon terms they mention."""

    def __init__(
        self,
        lexicons: Sequence[Lexicon],
        name: str = "lexicon",
        version: str | None = None,
        *,
        spelling_keys: bool = True,
        content: Sequence[ContentLexicon] = (),
    ) -> None:
        """content: content lexicons whose cues are matched in the same pass and whose rules
        then tag content topics (classifiers.content). spelling_keys=False leaves names'
        spelling keys out (to measure what they add)."""
        self.name = name
        self.content = tuple(content)
        self._rules = rules_of(self.content)
        self._typed = typed_of(self.content)
        self.lexicons = (
            *lexicons,
            *(made for lexicon in self.content for made in lexicon.lexicons()),
        )
        self.version = version or (
            f"{MATCHER_VERSION}.{content_hash(self.lexicons, self._rules, self._typed)}"
        )
        self.labels = tuple(sorted({lexicon.topic for lexicon in self.lexicons}))
        self._entries: list[_Entry] = []
        # All terms go into two automata, one per view of the text: names written as one
        # run of letters are looked up in the normalised text itself (no offset mapping
        # needed); names with spaces, hyphens or apostrophes in the separator-free text.
        keys: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        seen: set[tuple[object, ...]] = set()
        for lexicon in self.lexicons:
            written = {term.term for term in lexicon.terms}
            initials = [
                derived
                for term in lexicon.terms
                if lexicon.topic == "designated_org"
                for derived in _initials(term)
                if derived.term not in written
            ]
            for term in (*lexicon.terms, *initials):
                for key, joined, entry in _compile(lexicon, term):
                    identity = (
                        key,
                        joined,
                        entry.pattern.source,
                        entry.case,
                        id(lexicon),
                        id(term),
                    )
                    if identity not in seen:
                        seen.add(identity)
                        keys[joined].setdefault(key, []).append(len(self._entries))
                        self._entries.append(entry)
        self._fold_entries: list[_FoldEntry] = []
        fold_keys: dict[str, list[int]] = {}
        for lexicon in self.lexicons:
            if not (spelling_keys and lexicon.folds):
                continue
            for term in lexicon.terms:
                compiled = _compile_fold(lexicon, term)
                if compiled is not None:
                    fold_key, fold_entry = compiled
                    for key in (fold_key, *_construct_keys(term.term)):
                        fold_keys.setdefault(key, []).append(len(self._fold_entries))
                    self._fold_entries.append(fold_entry)
        self._folded = _automaton(fold_keys)
        # A post none of whose words can begin a key needs no look-up on keys (most posts).
        self._name_starts = NameStarts(fold_keys)
        self._has_tiers = any(lexicon.tier != "flag" for lexicon in self.lexicons)
        # Disclaimer phrases are looked for only in posts where the automaton saw their anchor.
        for anchor in ANCHORS:
            keys[False].setdefault(anchor, []).append(_ANCHOR)
        # A key found inside a word ("кол" in "школа") is dropped before any entry is checked,
        # unless one of its entries may follow letters (an Arabic prefix) or is an anchor.
        inner = {
            index for index, entry in enumerate(self._entries) if entry.arabic_prefix is not None
        } | {_ANCHOR}
        self._plain, self._joined = (_automaton(view, inner) for view in keys)

    def tag(self, text: str) -> list[TopicMatch]:
        """Return the lexicon matches in text, with spans in the original text."""
        return self._tag(text, with_signals=False)[0]

    def tag_with_signals(self, text: str) -> tuple[list[TopicMatch], list[Signal]]:
        """The matches in text, plus news disclaimers and evasive spellings of names."""
        return self._tag(text, with_signals=True)

    def _tag(self, text: str, with_signals: bool) -> tuple[list[TopicMatch], list[Signal]]:
        norm = normalize(text)
        matches, anchored = self._find(norm, text)
        evasive: set[TopicMatch] = set()
        views = evasion_views(norm, text)
        if views:
            seen = {(m.family, m.term, m.start, m.end) for m in matches}
            for view in views:
                for match in self._find(view, text, spelled_out=True)[0]:
                    if (
                        match.family,
                        match.term,
                        match.start,
                        match.end,
                    ) not in seen and _written_evasively(text, match.start, match.end):
                        seen.add((match.family, match.term, match.start, match.end))
                        matches.append(match)
                        evasive.add(match)
        if self._folded is not None:
            for view in (norm, *views):
                matches.extend(self._find_folded(view, text, matches))
        if matches:
            matches = [
                m
                for m in matches
                if not _unclear_name(m, norm.text, text) and not _surname(m, text)
            ]
        marks: list[Signal] = []
        if matches and any(m.family == OUTLETS_FAMILY for m in matches) and reports_on(norm.text):
            # Researchers or a platform reporting on an outlet: news about it, not its content.
            marks = [
                Signal(f"borderline_{m.topic}", m.start, m.end, text[m.start : m.end])
                for m in matches
                if m.family == OUTLETS_FAMILY
            ]
            matches = [m for m in matches if m.family != OUTLETS_FAMILY]
        if matches and self._has_tiers and any(m.tier != "flag" for m in matches):
            cues = [m for m in matches if m.tier == "cue"]
            marks += [
                Signal(f"borderline_{m.topic}", m.start, m.end, text[m.start : m.end])
                for m in matches
                if m.tier == "candidate"
            ]
            matches = [m for m in matches if m.tier == "flag"]
            if cues:
                cues += typed_matches(text, {m.topic for m in cues}, self._typed)
                found, unmet = apply_rules(cues, self._rules, text)
                marks.extend(unmet)
                # A rule met by a post's shape in a post of everyday life ("lesson 5 of the
                # English course, link in the pinned post") is a mark (classifiers.everyday).
                everyday = everyday_veto(text, [m.topic for m in found], matches) if found else []
                if everyday:
                    marks.extend(everyday)
                else:
                    matches.extend(found)
        if len(matches) > 1:
            matches = _drop_contained(matches)
        if not with_signals or not (matches or anchored or marks):
            return matches, []
        signals = find_disclaimers(norm, text, matches, anchored)
        signals.extend(marks)
        if evasive:
            signals.extend(
                Signal(EVASION, m.start, m.end, text[m.start : m.end])
                for m in matches
                if m in evasive and m.topic == "designated_org"
            )
        return matches, signals

    def _find(
        self, norm: Normalized, text: str, spelled_out: bool = False
    ) -> tuple[list[TopicMatch], bool]:
        """Matches in one reading of text, and whether a disclaimer anchor was seen.

        spelled_out: an evasion reading ("T.T.P.", "H T S"): nobody spells out the blood
        disorder, so an acronym found this way needs no further context.
        """
        folded = norm.text
        starts: list[tuple[int, tuple[int, ...]]] = []
        if self._plain is not None:
            for last, (length, indexes, inner) in self._plain.iter(folded):
                begin = last - length + 1
                if inner or not begin or not folded[begin - 1].isalnum():
                    starts.append((begin, indexes))
        if self._joined is not None:
            hits = list(self._joined.iter(squeeze(folded)))
            if hits:
                # A squeezed position k is k plus the separators before it in the text.
                cut = [found.start() for found in _SEPARATOR_RE.finditer(folded)]
                for last, (length, ids, _) in hits:
                    squeezed = position = last - length + 1
                    while (moved := squeezed + bisect.bisect_right(cut, position)) != position:
                        position = moved
                    starts.append((position, ids))
        matches: list[TopicMatch] = []
        anchored = False
        for begin, indexes in starts:
            for index in indexes:
                if index == _ANCHOR:
                    anchored = True
                    continue
                match = self._check(self._entries[index], norm, text, begin, spelled_out)
                if match is not None:
                    matches.append(match)
        return matches, anchored

    def _acronym_fits(
        self,
        entry: _Entry,
        norm: Normalized,
        text: str,
        first: int,
        stop: int,
        start: int,
        spelled_out: bool,
    ) -> bool:
        """An acronym counts in capitals as the term has them; in other letters when it is no
        ordinary word or name (three letters at least; in capitals an ending of at most
        _MAX_CAPITAL_ENDING letters: "ИГИЛА", not "ИГИЛДАИШ"); and, if it has everyday meanings
        or is not in capitals though it is a word, only with context (configs/context.yaml, or
        the "banned" asterisk right after it: "ИГ*")."""
        assert entry.case is not None
        found = text[first:stop].translate(BOXED_CAPITALS)
        exact = _case_fits(
            entry.case, found, entry.term.lower_in_hashtag and _in_hashtag(norm.text, start)
        )
        # A name guards only its capitalised form: "isis" all in small letters in running text
        # is the acronym (hashtags drop every capital, names' too: "#isis" may be the cat).
        letters_found = [c for c in found if c.isalpha()]
        small = bool(letters_found) and all(c.islower() for c in letters_found)
        guarded = (
            entry.small_word if small and not _in_hashtag(norm.text, start) else entry.ordinary
        )
        if exact and entry.term.needs_context:
            derivative = "".join(c for c in found[len(entry.term.term) :] if c.isalpha())
            if _MEMBER_SUFFIX.match(derivative):
                return True
            if found[:1].isascii() and derivative and _TURKIC_CASE.fullmatch(derivative):
                return True
        if not exact:
            # Only acronyms (one word in capitals) go in any case; a name in abbr mode for its
            # case ("Islamic State", not "an Islamic state") keeps it.
            term = entry.term.term
            if " " in term:
                return False
            if not term.isupper():
                # A mixed-case acronym ("HuT", "KiB") in small letters only, then with context:
                # "hut" and "kib" are words and units.
                if len(found) != len(entry.case) or not found.isalpha() or not found.islower():
                    return False
                return spelled_out or has_context(norm.text)
            if len(entry.case) < _MIN_ANY_CASE:
                # Two letters in small letters are a word unless marked as banned ("иг*").
                return text[stop : stop + 1] == "*" and found.isalpha()
            letters = [c for c in found if c.isalpha()]
            ending = letters[len(entry.case) :]
            if len(ending) > _MAX_CAPITAL_ENDING and all(c.isupper() for c in ending):
                return False
            acronym = letters[: len(entry.case)]
            # An ordinary word is not written in capitals: "ИГИЛА" is the acronym, whatever
            # «игил» (a Tuvan instrument) is in small letters.
            guarded = guarded and not all(c.isupper() for c in acronym)
            if (
                not ending
                and len(acronym) >= 4
                and any(c.isupper() for c in acronym)
                and any(c.islower() for c in acronym)
                and not (acronym[0].isupper() and all(c.islower() for c in acronym[1:]))
            ):
                return True  # capitals out of place ("iSiS", "IsIs"), written to dodge a filter
            if ending and not letters[0].isascii() and _MEMBER_SUFFIX.match("".join(ending)):
                return True  # a member derivative in small letters ("идушники", "даишевские")
            if (
                ending
                and len(acronym) >= _MIN_BARE_ACRONYM
                and not guarded
                and _case_ending("".join(ending).lower(), entry.term.lang)
            ):
                # An acronym of four letters or more that is no word, with a case ending of
                # its language: "игила", "игилге", "iskpning", "Ishiddan" ("Ishida", a name,
                # takes no case ending; "ишидан", from work, takes none the list has).
                return True
            if letters[0].isascii():
                # Latin acronyms take no endings in small letters ("Ishida" is a name) but a
                # Turkic case ending, and then only with context ("ishidga qo'shilgan ...
                # sudlandi"). Three letters count bare like four when no dictionary knows
                # them as a word or name ("iju", "ktj"; "tip" and "hts" are words): the word
                # lists decide, as the issue asks, and the acronyms with everyday readings
                # (IMU, TTP, HTS, KIB) are marked as needing context in the lexicon anyway.
                if ending and not _TURKIC_CASE.fullmatch("".join(ending)):
                    return False
                guarded = guarded or bool(ending)
            # An ending on a small-letter acronym may make an ordinary word ("ишидан": from
            # work, in Uzbek): only with context. In capitals throughout ("ИГИЛА") it may not.
            guarded = guarded or (bool(ending) and not all(c.isupper() for c in letters))
        if spelled_out:
            return True
        if (
            entry.term.needs_context
            and not exact
            and len(found) == len(entry.case)  # no ending: «Идумея», «Идут» are words
            and _proper_noun_case(found, entry)
            and _inside_sentence(text, first)
        ):
            return True
        if entry.term.needs_context or (not exact and guarded):
            return (
                text[stop : stop + 1] == "*"
                or has_context(norm.text)
                # A Latin word that is also an English word or name ("isis") amid another
                # script's sentence is the acronym: the English reading needs English around.
                or (not entry.term.needs_context and _latin_amid_other(text, first, stop))
            )
        return True

    def _find_folded(
        self, norm: Normalized, text: str, found: list[TopicMatch]
    ) -> list[TopicMatch]:
        """Names matched on spelling keys that no other reading found (classifiers.spelling)."""
        assert self._folded is not None
        # Most words are in the caches: looked up without a call.
        words_of_post, marks = self._name_starts.words(norm.text)
        if not self._name_starts.can_begin(words_of_post, marks):
            return []
        keys = list(map(spelling_cache().__getitem__, words_of_post))
        folded = " ".join(key for key in keys if key)
        hits = list(self._folded.iter(folded))
        if not hits:
            return []
        # Rare: now the words' positions are needed.
        words = keyed_spans(norm.text, words_of_post, keys)
        starts: dict[int, int] = {}
        position = 0
        for index, (key, _, _) in enumerate(words):
            starts[position] = index
            position += len(key) + 1
        matches: list[TopicMatch] = []
        for last, (length, indexes, _) in hits:
            key = folded[last - length + 1 : last + 1]
            first_index = starts.get(last - length + 1)
            if first_index is None:
                continue  # not at the start of a word
            # The word the key ends in, and how far the text's word runs on past the key.
            end_index = first_index + key.count(" ")
            key_end_word = words[end_index][0]
            word_start = sum(len(k) + 1 for k, _, _ in words[:end_index])
            run_on = len(key_end_word) - (last + 1 - word_start)
            rest = folded[last - length + 1 :]
            # An exclusion written for one spelling of a name vetoes the others of the family.
            vetoed = {
                self._fold_entries[i].lexicon.family
                for i in indexes
                if any(rest.startswith(e) for e in self._fold_entries[i].excludes)
            }
            # A follower's or an adjective's suffix on the name ("Qaedist", "аль-каидовской",
            # "Нусрачылар") makes it the organisation, as a context word would.
            member = run_on > 0 and _member_derivative(
                norm.text[words[end_index][1] : words[end_index][2]],
                key.rsplit(" ", 1)[-1],
            )
            # A short name's own letters before a Turkic case ending ("әл-Каидаға",
            # "Ал-Каидага"): the stem the vowels are checked on; None if the word runs on else.
            stem = (
                _stem_before_case(norm.text[words[end_index][1] : words[end_index][2]], key)
                if run_on and first_index == end_index
                else None
            )
            for index in indexes:
                entry = self._fold_entries[index]
                if (run_on > entry.ending and not member) or entry.lexicon.family in vetoed:
                    continue
                first, stop = original_span(norm, text, words[first_index][1], words[end_index][2])
                if (
                    entry.needs_article
                    and not member
                    and (
                        (run_on and stem is None)
                        or not _article_before(
                            norm.text, words[first_index], text[first : first + 1].isupper()
                        )
                    )
                ):
                    continue  # "al-Qadr" (the Night of Power) is "kad" + r: no run-on
                if (
                    entry.needs_article
                    and not member
                    and not _vowels_fit(
                        entry.vowels,
                        stem or norm.text[words[first_index][1] : words[first_index][2]],
                        text[first:stop],
                    )
                ):
                    continue
                if entry.title_case and not _title_case_elsewhere(text[first:stop]):
                    continue
                if entry.arabic_definite and not ARABIC_DEFINITE.match(text, first):
                    continue
                family = entry.lexicon.family
                if any(
                    m.family == family and m.start < stop and first < m.end
                    for m in (*found, *matches)
                ):
                    continue
                matches.append(
                    TopicMatch(
                        topic=entry.lexicon.topic,
                        family=family,
                        term=entry.term.term,
                        start=first,
                        end=stop,
                        lang=tuple(entry.term.lang),
                        layer=entry.lexicon.layer,
                    )
                )
        return matches

    def _check(
        self, entry: _Entry, norm: Normalized, text: str, begin: int, spelled_out: bool = False
    ) -> TopicMatch | None:
        folded = norm.text
        start = begin
        if entry.arabic_prefix is not None:
            while start > 0 and begin - start < _MAX_ARABIC_PREFIX and folded[start - 1].isalpha():
                start -= 1
            if not entry.arabic_prefix.fullmatch(folded, start, begin):
                return None
        if start > 0 and folded[start - 1].isalnum():
            return None
        found = entry.pattern.match(folded, begin)
        if found is None:
            return None
        first, stop = original_span(norm, text, start, found.end())
        if (entry.excludes and _excluded(entry, squeeze(folded[start : found.end()]))) or (
            entry.phrases
            and _covered(folded, start, found.end(), entry.phrases, entry.term.mode == "stem")
            # An acronym in capitals amid small letters is not the word an exclusion is written
            # for ("сторонников ИДУ в [CITY]" is not the verb of «иду в»), unless all is capitals.
            and not (
                entry.case is not None
                and _acronym_amid_small(norm, text, (start, found.end()), (first, stop), entry)
            )
        ):
            return None
        if entry.case is not None:
            if not self._acronym_fits(entry, norm, text, first, stop, start, spelled_out):
                return None
        elif (
            entry.term.needs_context
            and not (
                spelled_out
                or text[stop : stop + 1] == "*"
                # Stretched with tatweel inside (القـاعـدة): written to slip past a keyword filter,
                # as a word spelled out with dots is; the ordinary word is not written so.
                or _TATWEEL in text[first:stop]
                or has_context(norm.text)
            )
        ):
            return None  # a name that is also an ordinary word ("القاعدة": the base, the rule)
        lexicon = entry.lexicon
        return TopicMatch(
            topic=lexicon.topic,
            family=lexicon.family,
            term=entry.term.term,
            start=first,
            end=stop,
            lang=tuple(entry.term.lang),
            layer=lexicon.layer,
            tier=lexicon.tier,
        )


_TATWEEL = "\u0640"
_WORD_END = re.compile(r"[^\W_]*")


# Surnames of the region are names with -ov/-ev/-in ("Талибов", "Nusratov"): a capitalised
# word so formed inside a sentence is a person, not the plural of a name's noun.
_SURNAME = re.compile(r"(?:[оеё]в|ин)(?:а|у|ым|ой|ом|ых)?|[oe]v[au]?", re.IGNORECASE)
_SENTENCE_END = frozenset(".!?…\n")


def _surname(match: TopicMatch, text: str) -> bool:
    if match.topic != "designated_org":
        return False
    if (
        not text[match.start : match.start + 1].isupper()
        or text[match.start + 1 : match.start + 2].isupper()
    ):
        return False  # not a capital then small letters ("ISIS"): no surname
    end = _WORD_END.match(text, match.end)
    words = text[match.start : end.end() if end else match.end].split()
    if not all(w[:1].isupper() and w[1:].islower() for w in words):
        return False
    word = words[-1]
    if len(word) < 5 or not any(_SURNAME.fullmatch(word, cut) for cut in range(3, len(word))):
        return False
    if len(words) > 1:
        return True  # a given name and a surname ("Islom Davlatov")
    before = text[: match.start].rstrip()
    return bool(before) and before[-1] not in _SENTENCE_END


_ARABIZI_DIGIT = re.compile(r"[^\W\d_][23579]|[23579][^\W\d_]")
_ARTICLE_WORD = re.compile(f"(?<![^\\W_])(?:{_ARTICLES})\\s$")


def _article_before(folded: str, word: tuple[str, int, int], capital: bool = False) -> bool:
    """An article joined to the word by a hyphen ("Al-Kaýda"); a word of its own before a name
    written with a capital inside a sentence ("wrote Ал Кайда"; Kazakh «ал қайда» is "and
    where") or in Arabizi, where digits write Arabic sounds ("el qa3ida")."""
    _, start, end = word
    if _ARTICLE_LAST.search(folded, 0, start) is not None:
        return True
    article = _ARTICLE_WORD.search(folded, 0, start)
    if article is None:
        return False
    if _ARABIZI_DIGIT.search(folded, start, end) is not None:
        return True
    # A capital after an article opening a sentence may be a title's ("Ал Қайда барасың?").
    return capital and folded[: article.start()].rstrip()[-1:] not in ("", ".", "!", "?", "…")


# Anything but letters and the marks names are written with, between two letters.
_SYMBOL_INSIDE = re.compile("(?<=[^\\W\\d_])[^\\w\\s'’ʻʼ`-]+(?=[^\\W\\d_])|[\\d_]")
# A Russian case ending in place of a name's last vowel: «Нусры», «Нусре», «Нусрой», «Каиды»;
# и only where Russian spelling wants it for ы (after к, г, х and the hushing letters).
_RUSSIAN_CASE_VOWEL = re.compile("(?:[ыеу]|ой|ою|(?<=[кгхжшщч])и)$")


def _stem_before_case(word: str, key: str) -> str | None:
    """The word without a Turkic case ending (up to four letters) when what is left has the
    name's spelling key exactly: "каидаға" -> "каида" for the key of al-Qaida."""
    letters = "".join(char for char in word if char.isalpha())
    for cut in range(len(letters) - 1, max(1, len(letters) - 5), -1):
        ending = letters[cut:]
        if (
            _TURKIC_CASE.fullmatch(ending) or _TURKIC_CASE_CYRILLIC.fullmatch(ending)
        ) and fold_word(letters[:cut]) == key:
            return letters[:cut]
    return None


def _vowels_fit(name: str, word: str, written: str) -> bool:
    """A short name found on its key is written with its vowels (by class), or in Cyrillic
    with a Russian case ending for its last one. Words in other letters (Arabic, where vowels
    go unwritten) are not checked, nor words written with a symbol inside ("аль-К⚫ида": it
    may stand for a vowel)."""
    letters = "".join(char for char in word if char.isalpha())
    if not name or not letters or any(char >= "\u0530" for char in letters):
        return True
    if _SYMBOL_INSIDE.search(written) is not None:
        return True
    found = vowel_classes(letters)
    if found == name:
        return True
    return (
        len(found) == len(name)
        and found[:-1] == name[:-1]
        and _RUSSIAN_CASE_VOWEL.search(letters) is not None
    )


def _title_case_elsewhere(found: str) -> bool:
    """Words each with a capital first, in letters other than Latin («Исламик Стейт»)."""
    words = split_words(found)
    return (
        len(words) > 1
        and all(word[:1].isupper() for word in words)
        and not any(char.isascii() and char.isalpha() for char in found)
    )


def _written_evasively(text: str, start: int, end: int) -> bool:
    """Whether a name found only in an evasion reading is itself written so: with something
    other than letters inside it (И🔥Г🔥И🔥Л, Ta-ly-ban, D4ESH), letters of two scripts (ДAИШ),
    or in a hashtag (#TalibanNews). A plain word elsewhere in the post ("Сидели") is not."""
    found = text[start:end]
    if not found.isalpha():
        return True
    if len({char.isascii() for char in found}) > 1:
        return True
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start > 0 and text[start - 1] == "#"


def _acronym_amid_small(
    norm: Normalized, text: str, at: tuple[int, int], span: tuple[int, int], entry: _Entry
) -> bool:
    """Whether the acronym at span is in capitals and the rest of the exclusion phrase around
    it in small letters ("ИДУ в", not the verb «иду в»; "ИГ РАН" stays the institute). An
    exclusion written with the acronym in its capitals ("ISIS neutron", the UK's ISIS Neutron
    and Muon Source) is about the acronym itself and always applies."""
    first, stop = span
    letters = [c for c in text[first:stop] if c.isalpha()]
    if len(letters) < 2 or not all(c.isupper() for c in letters):
        return False
    start, end = at
    for phrase in entry.phrases:
        found = norm.text.find(phrase, max(0, end - len(phrase)), start + len(phrase))
        if found != -1 and found + len(phrase) >= end:
            if any(_in_capitals(written) for written in entry.term.exclude):
                return False
            a, b = original_span(norm, text, found, found + len(phrase))
            rest = [c for c in text[a:first] + text[stop:b] if c.isalpha()]
            return bool(rest) and all(c.islower() for c in rest)
    return False


def _proper_noun_case(found: str, entry: _Entry) -> bool:
    """Whether an acronym with everyday readings is written as a proper noun is, with a
    capital and then small letters: its everyday readings are common nouns and verbs ("an imu
    sensor", "иду домой"), which stay in small letters inside a sentence. Not where a
    dictionary knows the capitalised form as a name or abbreviation ("Hts", US Heights; "Сид",
    a given name) nor, in Latin letters, as any word (English capitalises words in headings:
    "Pro Tip")."""
    if len(found) < _MIN_ANY_CASE or not found.isalpha() or not found.istitle():
        return False
    return not (entry.ordinary and (not entry.small_word or found.isascii()))


def _inside_sentence(text: str, first: int) -> bool:
    """Whether the word at `first` stands inside a sentence of running text: right after a
    word, a number or a comma on the same line (not after a sentence's end, a quotation's or a
    list's opening, an emoji or a smiley: «я устал) Иду спать»), and not in a heading whose
    words mostly begin with capitals."""
    at = first
    while at > 0 and text[at - 1].isspace() and text[at - 1] != "\n":
        at -= 1
    if at == first or at == 0 or not (text[at - 1].isalnum() or text[at - 1] == ","):
        return False
    words = [w for w in split_words(text) if w[:1].isalpha()]
    capitals = sum(w[0].isupper() for w in words)
    return capitals * 2 <= len(words)


def _latin_amid_other(text: str, first: int, stop: int) -> bool:
    """Whether text[first:stop] is in Latin letters and at least four in five of the letters
    around it (ten at least) are of another script."""
    if not text[first:stop].isascii():
        return False
    around = [c for c in text[:first] + text[stop:] if c.isalpha()]
    other = sum(not c.isascii() for c in around)
    return len(around) >= 10 and other * 5 >= len(around) * 4


def _in_capitals(phrase: str) -> bool:
    """Whether an exclusion is written with an acronym in capitals ("ISIS neutron")."""
    return any(len(word) > 1 and word.isupper() for word in phrase.split())


# Suffixes that make a follower or an adjective of a name, in the languages of the region:
# English -ist/-is/-i/-ism/-ite ("Qaedist", "Daeshis", "a former Daeshi"), Russian -овец/-овский ("аль-каидовской"),
# Turkic -chi/-çy/-чы with a plural and case chain ("Kaýdaçylar", "Нусрачылар").
_NAME_MEMBER = re.compile(
    r"(?:ists?|is|i|isms?|ites?"
    r"|(?:ов|ев)?(?:ец|цы|цев|цам|цами|цах|ск(?:ий|ая|ое|ие|ой|ого|ому|их|им|ими|ую))"
    r"|(?:ч|ш|ç|ş|ch|sh)[иыіуүaeıiyu](?:л[аеыі]р|l[ae]r|д[аеыі]р|т[аеыі]р)?[^\W\d_]{0,6}"
    r"|и[её]н[^\W\d_]{0,4}|ӣ)"
)
# The Arabic adjective of a name, feminine or plural («الحكومة الطالبانية», «الطالبانيون»):
# the masculine -ي is left out, being also a family name's ending (جلال طالباني).
_ARABIC_NISBA = "ي(?:ه|ون|ين|ات)"  # in normalised text: ة is ه
_EDGE_NON_LETTERS = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# A member derivative's stem must be this long, so that short words folding like a name
# ("qadis", judges, folds like "Qaeda") do not count.
_MIN_MEMBER_STEM = 4


def _member_derivative(word: str, key: str) -> bool:
    """Whether word is a name's key followed by a follower's or an adjective's suffix.

    word is a token as the text has it: quotes and punctuation around it are not part of the
    suffix ("нусровцев.", «игиловцы»,)."""
    word = _EDGE_NON_LETTERS.sub("", word)
    return any(
        _NAME_MEMBER.fullmatch(word, cut) and fold_word(word[:cut]) == key
        for cut in range(_MIN_MEMBER_STEM, len(word))
    )


def _unclear_name(match: TopicMatch, normalized_text: str, text: str) -> bool:
    """A designated name read from a word that is also an ordinary word, or written out in a
    post about a historic state, with no context word (classifiers.context.unclear)."""
    if match.topic != "designated_org":
        return False

    def word() -> str:  # the whole word the name was read from, normalised
        start = match.start
        while start > 0 and (text[start - 1].isalpha()):
            start -= 1
        end = _WORD_END.match(text, match.end)
        return normalize(text[start : end.end() if end else match.end]).text

    return unclear(match.family, text[match.start : match.end], word, normalized_text)


def content_hash(
    lexicons: Sequence[Lexicon], rules: Rules | None = None, typed: Typed | None = None
) -> str:
    """First 8 hex digits of a SHA-256 over what decides the tags (not notes or sources)."""
    records = sorted(
        json.dumps(
            lexicon.model_dump(
                mode="json", exclude={"source": True, "terms": {"__all__": {"note"}}}
            ),
            sort_keys=True,
            ensure_ascii=False,
        )
        for lexicon in lexicons
    )
    if rules:
        records.append(json.dumps(sorted(rules.items()), ensure_ascii=False))
    if typed:
        records.append(json.dumps(sorted(typed.items()), ensure_ascii=False))
    # The context words decide tags too (acronyms' context, reporting, everyday life).
    records.append(context_digest())
    return hashlib.sha256("\n".join(records).encode()).hexdigest()[:8]


_Value = tuple[int, tuple[int, ...], bool]


class _Automaton:
    """Aho-Corasick search for many keys at once, every match (overlapping ones too).

    ahocorasick_rs (Rust) finds them about twice as fast as pyahocorasick on posts, in the same
    order (by end). It cannot be pickled, so a pickle (the tagger cache) keeps the keys and
    builds it again (~10 ms).
    """

    def __init__(self, items: list[tuple[str, _Value]]) -> None:
        self._items = items
        self._values = [value for _, value in items]
        self._search = ahocorasick_rs.AhoCorasick(
            [key for key, _ in items], implementation=ahocorasick_rs.Implementation.DFA
        )

    def iter(self, text: str) -> list[tuple[int, _Value]]:
        """(index of the last character, value) of every key found in text."""
        values = self._values
        return [
            (end - 1, values[index])
            for index, _, end in self._search.find_matches_as_indexes(text, overlapping=True)
        ]

    def __reduce__(self) -> tuple[type[_Automaton], tuple[list[tuple[str, _Value]]]]:
        return (_Automaton, (self._items,))


def _automaton(
    keys: dict[str, list[int]], inner: set[int] | frozenset[int] = frozenset()
) -> _Automaton | None:
    """Each key stores (length, entry indexes, whether a hit inside a word may count)."""
    if not keys:
        return None
    return _Automaton(
        [
            (key, (len(key), tuple(indexes), not inner.isdisjoint(indexes)))
            for key, indexes in keys.items()
        ]
    )


def _compile(lexicon: Lexicon, term: Term) -> list[tuple[str, bool, _Entry]]:
    """Automaton key, which automaton, and entry for the term and each generated spelling."""
    text = normalize(term.term).text
    spellings = [(text, _case_pattern(term.term) if term.mode == "abbr" else None)]
    if term.mode == "abbr":
        for written in _acronym_forms(term.term):
            spellings.append((normalize(written).text, _case_pattern(written)))
    if term.translit:
        for spelling in _translit_spellings(term, text):
            # Normalised like post text: Uzbek "yo" transliterates to "ё", which posts fold to "е".
            spelling = normalize(spelling).text
            spellings.append((spelling, _all_capitals(spelling) if term.mode == "abbr" else None))
    phrases = tuple(normalize(word).text for word in term.exclude)
    if len(spellings) > 1:
        # An exclude written in one alphabet must also veto the other alphabet's spelling.
        phrases += tuple(other for phrase in phrases for other in transliterations(phrase))
    excludes = frozenset(squeeze(phrase) for phrase in phrases)
    compiled = []
    for spelling, case in spellings:
        key, joined, pattern, arabic_prefix = _compile_spelling(
            spelling, term, members=lexicon.topic == "designated_org"
        )
        abbr = term.mode == "abbr"
        ordinary = abbr and (is_ordinary(term.term) or is_ordinary(spelling))
        small_word = abbr and (is_small_word(term.term) or is_small_word(spelling))
        entry = _Entry(
            lexicon, term, pattern, case, excludes, phrases, arabic_prefix, ordinary, small_word
        )
        compiled.append((key, joined, entry))
    return compiled


def _compile_fold(lexicon: Lexicon, term: Term) -> tuple[str, _FoldEntry] | None:
    """The spelling key of a name and its entry; None where keys would be unsafe.

    Acronyms are never folded; nor is a single word shorter than MIN_SINGLE folded letters,
    nor a name one of whose exclusions folds to the same key (the plural "исламские
    государства" folds like "исламское государство": that name stays with the exact matcher).
    """
    title_case = term.mode == "abbr" and " " in term.term and term.term.istitle()
    if term.mode == "abbr" and not title_case:
        return None
    normalized = normalize(term.term).text
    key = fold_name(normalized)
    needs_article = False
    if not key or (" " not in key and len(key) < MIN_SINGLE):
        if len(key) < _MIN_ARTICLE_KEY or not _ARTICLE_FIRST.match(normalized):
            return None
        needs_article = True
    excludes = tuple(fold_name(normalize(phrase).text) for phrase in term.exclude)
    if any(key.startswith(e) or (e.startswith(key) and len(e) - len(key) <= 2) for e in excludes):
        return None
    ending = _FOLD_STEM_ENDING if term.mode == "stem" or " " in key else _FOLD_WORD_ENDING
    vowels = ""
    if needs_article:
        article = _ARTICLE_FIRST.match(normalized)
        assert article is not None
        vowels = vowel_classes("".join(c for c in normalized[article.end() :] if c.isalpha()))
    # Every word starting with the article is an Arabic name.
    arabic_definite = all(word.startswith("ال") for word in term.term.split())
    return key, _FoldEntry(
        lexicon, term, ending, tuple(e for e in excludes if e), needs_article, title_case,
        vowels, arabic_definite,
    )  # fmt: skip


# An article between two words of a name ("Jabhat al-Nusra"), which Arabic also writes as the
# first word's case vowel u with the article, attached or assimilated: "Jabhatun Nusra",
# "Jundul Khilafah", "Ҷабҳатуннусра", "Tahriru sh-Sham".
_INNER_ARTICLE = re.compile(
    f"(?<=[^\\W\\d_])[-\\s\u2010\u2011]+(?:{_ARTICLES}|ut|ут)[-\\s\u2010\u2011]+(?=([^\\W\\d_]+))"
)


_SUN_LETTERS = frozenset({"t", "d", "r", "z", "s", "sh", "l", "n"})


def _construct_keys(term: str) -> list[str]:
    """The spelling keys of a name with its inner articles written in the construct state."""
    text = normalize(term).text
    found = _INNER_ARTICLE.search(text)
    if found is None:
        return []
    # The article takes the sound of a "sun letter" after it (ush-Sham, ut-Tawhid, un-Nusra).
    following = fold_word(found.group(1))
    sun = following[:2] if following[:2] == "sh" else following[:1]
    keys = []
    for ending in {"un", "ul", f"u{sun}" if sun in _SUN_LETTERS else "ul"}:
        for gap in (" ", ""):
            key = fold_name(f"{text[: found.start()]}{ending}{gap}{text[found.end() :]}")
            if key and key != fold_name(text):
                keys.append(key)
    return sorted(set(keys))


# Latin letters of an acronym in Cyrillic, one for one (digraphs first).
_ACRONYM_CYRILLIC = {
    "sh": "ш", "ch": "ч", "kh": "х", "a": "а", "b": "б", "d": "д", "e": "е", "f": "ф",
    "g": "г", "h": "х", "i": "и", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о",
    "p": "п", "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "z": "з",
}  # fmt: skip
_ACRONYM_LETTER = re.compile("sh|ch|kh|[a-z]", re.IGNORECASE)
_TURKISH_DIGRAPH = re.compile("([SsCc])[Hh]")
_TURKISH = {"S": "Ş", "s": "ş", "C": "Ç", "c": "ç"}


# Words a name's acronym leaves out, and the article before a word ("al-Tawhid": T).
_NOT_INITIALS = frozenset({"of", "and", "the", "i", "и", "va", "wa", "ва", "оф", "da"})
_ARTICLE_PIECE = re.compile(
    f"^(?:{_ARTICLES}|wal|val|уаль|валь|ut|ul|ud|ут|ул|уль)[-‐‑]", re.IGNORECASE
)
# Names in English have their acronyms in the lexicons already, written by hand; Arabic
# writes none.
_NO_INITIALS = frozenset({"en", "ar", "fa"})
_MIN_INITIALS = 3


def _initials(term: Term) -> list[Term]:
    """The acronym of a name of three words or more, in its own letters ("Исламская партия
    Туркестана": ИПТ, "Oʻzbekiston islomiy harakati": OʻIH), counted only with context: an
    acronym so made may well be something else's too."""
    if term.mode == "abbr" or not set(term.lang).isdisjoint(_NO_INITIALS):
        return []
    letters = []
    for word in term.term.split():
        word = _ARTICLE_PIECE.sub("", word)
        if word.casefold() in _NOT_INITIALS or not word[:1].isalpha():
            continue
        letters.append(word[:2] if word[1:2] in "ʻʼ'’" else word[:1])
    if len(letters) < _MIN_INITIALS:
        return []
    acronym = "".join(letters).upper()
    if not all(c.isupper() for c in acronym if c.isalpha() and c not in "ʻʼ"):
        return []
    return [
        Term(
            term=acronym,
            lang=term.lang,
            mode="abbr",
            needs_context=True,
            translit=False,
            note=f"initials of «{term.term}» (classifiers.lexicon._initials)",
        )
    ]


def _acronym_forms(acronym: str) -> list[str]:
    """Other ways to write a Latin acronym: Turkish and Turkmen ş and ç for sh and ch ("IShID":
    "IŞID"); and an acronym in capitals and small letters, whose mix of cases no word has, in
    Cyrillic letters with the same cases ("HuT": "ХуТ", "JaK": "ЖаК")."""
    if not acronym.isascii() or not acronym.isalpha():
        return []
    forms = []
    turkish = _TURKISH_DIGRAPH.sub(lambda m: _TURKISH[m.group(1)], acronym)
    if turkish != acronym:
        forms.append(turkish)
    if not acronym.isupper() and not acronym.islower() and acronym[0].isupper():
        forms.append(
            "".join(
                _ACRONYM_CYRILLIC[x.lower()].upper() if x[0].isupper() else _ACRONYM_CYRILLIC[x]
                for x in _ACRONYM_LETTER.findall(acronym)
            )
        )
    return forms


def _translit_spellings(term: Term, text: str) -> list[str]:
    if term.mode == "abbr":
        letters = [char for char in unicodedata.normalize("NFKC", term.term) if char.isalpha()]
        # Only all-capital Cyrillic abbreviations long enough not to be another acronym.
        if len(letters) < _MIN_TRANSLIT_ABBR or not all(char.isupper() for char in letters):
            return []
        return [s for s in transliterations(text) if s.isascii()]
    return transliterations(text)


def _all_capitals(spelling: str) -> tuple[bool, ...]:
    return tuple(True for char in spelling if char.isalpha())


# A spelling's words with the ending each may take, and the acronym tail.
Pattern = tuple[tuple[tuple[str, str], ...], str]


class _LazyRegex:
    """A spelling's regular expression, built and compiled when a post first reaches it."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: Pattern) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def match(self, text: str, pos: int) -> re.Match[str] | None:
        compiled = self._compiled
        if compiled is None:
            words, tail = self.source
            compiled = self._compiled = re.compile(
                _GAP.join(_word_pattern(word) + ending for word, ending in words) + tail + _END
            )
        return compiled.match(text, pos)


def _compile_spelling(
    text: str, term: Term, members: bool = False
) -> tuple[str, bool, _LazyRegex, re.Pattern[str] | None]:
    # Words are what spaces separate in the term; hyphens and apostrophes inside a word
    # ("аль-Каида", "Oʻzbekiston") are flexible gaps, but stem endings go only after words.
    words = [word for word in text.split(" ") if squeeze(word)]
    arabic_prefix = None
    if "ar" in term.lang:
        arabic_prefix = _ARABIC_PREFIX_RE
        if words[0].startswith(_ARABIC_ARTICLE) and len(words[0]) > len(_ARABIC_ARTICLE) + 1:
            words[0] = words[0][len(_ARABIC_ARTICLE) :]
            arabic_prefix = _ARABIC_ARTICLE_PREFIX_RE
    ending = ""
    if term.mode == "stem":
        ending = _LONG_ENDING if set(term.lang) <= _AGGLUTINATIVE else _ENDING
    # An acronym may take a Russian derivative or a Turkic suffix chain, after a hyphen or not
    # ("ИГИЛовцы", "КТЖшники", "IShIDchilar", "ИГ-шный").
    tail = f"(?:-?{_ABBR_ENDING})?" if term.mode == "abbr" else ""
    if members and term.mode != "abbr" and len(words) == 1:
        # A one-word name may take a follower's or an adjective's suffix ("Daeshis").
        tail = f"(?:-?{_NAME_MEMBER.pattern})?"
        if "\u0600" <= words[0][:1] <= "\u06ff" and not term.needs_context:
            tail = f"(?:{_ARABIC_NISBA})?"
    # Leading words of up to _BARE_WORD letters (prepositions, particles: "ба дасти", "mol
    # bilan") take no ending in a stem term; every later word and the last one may.
    bare = 0
    while bare < len(words) - 1 and len(squeeze(words[bare])) <= _BARE_WORD:
        bare += 1
    endings = ["" if i < bare else ending for i in range(len(words))]
    pattern = _LazyRegex((tuple(zip(words, endings, strict=True)), tail))
    # stem terms are looked up by their words up to the first that may carry an ending (later
    # ones may too): the leading short words make the key rarer ("ба дасти", not "ба").
    if term.mode == "stem":
        first_ending = next((i for i, end in enumerate(endings) if end), len(words) - 1)
        looked_up = " ".join(words[: first_ending + 1])
    else:
        looked_up = " ".join(words)
    key = squeeze(looked_up)
    return key, key != looked_up, pattern, arabic_prefix


def _word_pattern(word: str) -> str:
    return _GAP.join(re.escape(part) for part in _SPLIT_RE.split(word) if part)


def _case_pattern(text: str) -> tuple[bool, ...]:
    return tuple(char.isupper() for char in unicodedata.normalize("NFKC", text) if char.isalpha())


def _case_fits(expected: tuple[bool, ...], found: str, lower_ok: bool) -> bool:
    """Capitals as in the term, digits standing in for any letter, then small letters only."""
    letters = [c for c in unicodedata.normalize("NFKC", found) if c.isalpha() or c in DIGIT_LIKE]
    if len(letters) < len(expected):
        return False
    if lower_ok and not any(char.isupper() for char in letters):
        return True
    ending = letters[len(expected) :]
    if ending and (not expected[-1] or any(char.isupper() for char in ending)):
        return False
    return all(
        char in DIGIT_LIKE or char.isupper() == upper
        for char, upper in zip(letters, expected, strict=False)
    )


def _in_hashtag(folded: str, start: int) -> bool:
    while start > 0 and (folded[start - 1].isalnum() or folded[start - 1] == "_"):
        start -= 1
    return start > 0 and folded[start - 1] == "#"


def _excluded(entry: _Entry, matched: str) -> bool:
    """The matched word(s) are an excluded form; a stem term's form may run on with endings
    ("ислам мемлекеттері" also excludes the longer «мемлекеттерінің»)."""
    if matched in entry.excludes:
        return True
    return entry.term.mode == "stem" and any(matched.startswith(e) for e in entry.excludes)


def _covered(
    folded: str, start: int, end: int, phrases: tuple[str, ...], stem: bool = False
) -> bool:
    """True when one of the phrases occurs in folded around the whole of [start, end)."""
    for phrase in phrases:
        found = folded.find(phrase, max(0, end - len(phrase)), start + len(phrase))
        while found != -1:
            after = found + len(phrase)
            # Whole words, except a stem term's, whose exclusions take endings as it does:
            # «иду в» does not cover "Иду вышло"; «вилояти хуросони разави» covers «разавии».
            if after >= end and (stem or not folded[after : after + 1].isalnum()):
                return True
            found = folded.find(phrase, found + 1, start + len(phrase))
    return False


def _drop_contained(matches: list[TopicMatch]) -> list[TopicMatch]:
    """Keep the longest reading: drop a match inside another of the same topic."""
    ordered = sorted(matches, key=lambda m: (m.start, m.start - m.end, m.family, m.term))
    kept: list[TopicMatch] = []
    for match in ordered:
        if not any(
            other.topic == match.topic
            and other.start <= match.start
            and match.end <= other.end
            and (other.end - other.start > match.end - match.start or other.family == match.family)
            for other in kept
        ):
            kept.append(match)
    return kept
