"""The lexicon YAML format: pydantic models, loading and one-line error reports."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from classifiers import yaml_text
from classifiers.base import TOPICS, Topic
from classifiers.normalize import normalize, squeeze

# The lexicons shipped with vemeter (configs/lexicons in the repository).
DEFAULT_LEXICON_DIR = Path(__file__).resolve().parents[1] / "configs" / "lexicons"

__all__ = ["OUTLETS_FAMILY", "Layer", "Lexicon", "LexiconError", "Mode", "Term", "load_lexicons"]

Mode = Literal["abbr", "word", "stem"]
Layer = Literal["un_listed", "multi_jurisdiction", "national_only"]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]

_MIN_STEM_ANCHOR = 3
_FORMAT_HINT = "see the Lexicon format in classifiers/lexicon_files.py"
_TYPE_HINTS = {
    "too_short": "add at least one entry",
    "list_type": "write a YAML list, e.g. [a, b]",
    "string_type": "write a quoted string",
}
_FIELD_HINTS = {
    "family": "use snake_case, e.g. islamic_state",
    "lang": "use lower-case ISO 639 codes, e.g. [ru, kk]",
    "topic": "use one of the listed topics",
    "layer": "use one of the listed layers, or leave it out",
    "mode": "abbr = case-sensitive word, word = whole word, stem = words with endings",
}


# The family of configs/lexicons/outlets.yaml: an outlet named in a post that reports on it
# (context.reports_on) is a borderline mark, not perpetrator content.
OUTLETS_FAMILY = "propaganda_outlets"


class LexiconError(ValueError):
    """A lexicon file is missing or invalid; one line per problem: `path: key: problem (fix)`."""


class Term(BaseModel):
    """One name or indicator term and how it is matched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1)
    lang: list[LangCode] = Field(min_length=1)
    mode: Mode
    exclude: list[str] = Field(default_factory=list)
    lower_in_hashtag: bool = False
    translit: bool = True
    # An acronym with everyday meanings (TTP, IMU, HTS, ИГ): counts only with context.
    needs_context: bool = False
    note: str | None = None


class Lexicon(BaseModel):
    """One lexicon file: the terms of one organisation family or theme within one topic.

    ```yaml
    topic: designated_org        # one of classifiers.base.TOPICS
    family: islamic_state        # organisation family or theme, snake_case
    tier: candidate              # optional: flag (default) tags posts; candidate only marks
                                 # them borderline for review sampling
    spelling_keys: true          # optional: also match names on spelling keys (default:
                                 # designated_org only; see classifiers/spelling.py)
    layer: un_listed             # designated_org only: un_listed | multi_jurisdiction |
                                 # national_only
    source: "taxonomy E1; UN QDe.115"
    terms:
      - term: "ИГИЛ"
        lang: [ru]
        mode: abbr               # abbr: case-sensitive whole word | word: whole word |
                                 # stem: every word may take up to 5 more letters
        exclude: ["игила"]       # optional: matched words, or phrases around the match
                                 # ("иг ран"), that mean something else
        lower_in_hashtag: true   # optional, abbr only: also match #игил in a hashtag
        translit: false          # optional: do not add the spelling in the other alphabet
        note: "..."              # optional
    ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic
    family: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
    layer: Layer | None = None
    # Also match the terms on their spelling keys (classifiers.spelling); None: names of
    # designated organisations are, other topics' terms are not.
    spelling_keys: bool | None = None
    # flag: a match tags the post with the topic; candidate: it only marks the post borderline
    # (signal `borderline_<topic>`), for words mostly used about the topic, not in it; cue: a
    # part of a content rule (classifiers.content builds these from content lexicons).
    tier: Literal["flag", "candidate", "cue"] = "flag"
    source: str = Field(min_length=1)
    terms: list[Term] = Field(min_length=1)

    @property
    def folds(self) -> bool:
        """Whether the terms are also matched on their spelling keys."""
        return self.topic == "designated_org" if self.spelling_keys is None else self.spelling_keys


def load_lexicons(paths: Sequence[Path]) -> list[Lexicon]:
    """Load lexicon files (or directories of *.yaml); raise LexiconError listing every problem."""
    problems: list[str] = []
    lexicons: list[Lexicon] = []
    for path in _expand(paths, problems):
        lexicon, file_problems = _load_file(path)
        problems.extend(file_problems)
        if lexicon is not None:
            lexicons.append(lexicon)
    if problems:
        raise LexiconError("\n".join(problems))
    return lexicons


def _expand(paths: Sequence[Path], problems: list[str]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(path.glob("*.yaml"))
            if not files:
                problems.append(f"{path}: (directory): no *.yaml files (add lexicon files)")
            yield from files
        elif path.is_file():
            yield path
        else:
            problems.append(f"{path}: (file): does not exist (check the path)")


def _load_file(path: Path) -> tuple[Lexicon | None, list[str]]:
    try:
        data = yaml_text.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{path}: (file): cannot be read: {error} (check the file)"]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        return None, [f"{path}: (yaml): {problem}{where} (fix the YAML syntax)"]
    if not isinstance(data, dict):
        kind = type(data).__name__
        return None, [f"{path}: (top level): expected a mapping, got {kind} ({_FORMAT_HINT})"]
    problems: list[str] = []
    # Checked on the raw data so it is reported together with any other problem.
    topic = data.get("topic")
    if data.get("layer") is not None and topic in TOPICS and topic != "designated_org":
        problems.append(f"{path}: layer: only designated_org lexicons have a layer (remove it)")
    try:
        lexicon = Lexicon.model_validate(data)
    except ValidationError as error:
        return None, problems + [_format_error(path, detail) for detail in error.errors()]
    problems.extend(f"{path}: {problem}" for problem in _semantic_problems(lexicon))
    return (None if problems else lexicon), problems


def _format_error(path: Path, detail: Any) -> str:
    loc = tuple(detail["loc"])
    key = _key_path(loc)
    kind = detail["type"]
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "missing":
        return f"{path}: {key}: required key is missing (add it)"
    if kind == "extra_forbidden":
        allowed = Term.model_fields if loc[0] == "terms" else Lexicon.model_fields
        return f"{path}: {key}: unknown key (allowed keys: {', '.join(allowed)})"
    problem = str(detail["msg"]).replace("\n", " ")
    if "input" in detail and not isinstance(detail["input"], dict | list):
        problem += f", got {_short(detail['input'])}"
    hint = _FIELD_HINTS.get(field) or _TYPE_HINTS.get(kind, _FORMAT_HINT)
    return f"{path}: {key}: {problem} ({hint})"


def _key_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _short(value: Any) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _semantic_problems(lexicon: Lexicon) -> Iterator[str]:
    seen: dict[tuple[str, str], int] = {}
    for index, term in enumerate(lexicon.terms):
        text = normalize(term.term).text
        if not re.search(r"[^\W_]", text):
            yield f"terms[{index}].term: has no letters or digits (write the name itself)"
            continue
        first_word = squeeze(text.split(" ")[0])
        if term.mode == "stem" and len(first_word) < _MIN_STEM_ANCHOR:
            # The first word is the automaton key; a tiny one would fire on most posts.
            yield (
                f"terms[{index}].term: a stem term must start with a word of at least "
                f"{_MIN_STEM_ANCHOR} letters (reorder the words or use mode: word)"
            )
        # abbr terms are case-sensitive, so "ISLAMIC STATE" is not a copy of "Islamic State".
        same = unicodedata.normalize("NFKC", term.term) if term.mode == "abbr" else text
        first = seen.setdefault((same, term.mode), index)
        if first != index:
            yield f"terms[{index}].term: same as terms[{first}] after normalisation (remove one)"
        if term.lower_in_hashtag and term.mode != "abbr":
            yield (
                f"terms[{index}].lower_in_hashtag: only abbr terms are case-sensitive "
                "(remove it or use mode: abbr)"
            )
        for number, word in enumerate(term.exclude):
            if not squeeze(normalize(word).text):
                yield f"terms[{index}].exclude[{number}]: empty after normalisation (remove it)"
