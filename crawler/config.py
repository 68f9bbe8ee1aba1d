"""Load and validate a project config (YAML), reporting every problem at once, one per line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from classifiers import yaml_text
from classifiers.designations import DEFAULT_CHOICE, DesignationTable
from crawler.errors import ConfigError
from crawler.platforms import PLATFORMS
from crawler.rules_base import HIDDEN, PARTIAL, SourceRules, looks_secret

DEFAULT_LANGUAGES = (
    "ru",
    "kk",
    "ky",
    "uz",
    "tg",
    "tk",
    "ar",
    "fa",
    "en",
    "tt",
    "az",
    "tr",
    "uk",
    "ba",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StorageSettings(_Strict):
    """Where posts and counts are stored."""

    url: str = Field(
        "sqlite:///vemeter.db",
        description="SQLAlchemy URL; SQLite paths are relative to the config file",
    )
    batch_size: int = Field(500, ge=1, le=50_000)
    max_text_chars: int = Field(
        100_000, ge=1_000, le=10_000_000, description="per post; longer text is cut and marked"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            shown = re.sub(r"//([^:/@\s]*):[^@/\s]*@", r"//\1:***@", value)  # never a password
            raise ValueError(
                f"{shown!r} is not a supported database URL (use sqlite:///FILE.db or "
                "postgresql+psycopg://USER@HOST/DB)"
            )
        return value.replace("postgresql://", "postgresql+psycopg://", 1)


class PrivacySettings(_Strict):
    """What is kept about posts and authors."""

    keep_text: Literal["none", "flagged", "all"] = "flagged"
    pseudonym_key_env: str = Field("VEMETER_PSEUDONYM_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    text_retention_days: int | None = Field(365, ge=1)


class ClassifierSettings(_Strict):
    """Language identification and topic lexicons."""

    engine: Literal["py3langid", "langdetect"] = "py3langid"
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    lexicons: list[Path] = Field(
        default_factory=list, description="files or folders; empty: the shipped lexicons"
    )
    topics: Literal["lexicon", "model", "either"] = Field(
        "lexicon", description="what flags a post: lexicon matches, model scores, or either"
    )
    designations: list[str] = Field(
        default_factory=lambda: sorted(DEFAULT_CHOICE),
        description="jurisdictions whose lists make a designated_org mention count, by the "
        "post's date (configs/designations.yaml): un, ru, kz, kg, tj, uz, tm, us, eu",
    )
    model: Path | None = Field(
        None,
        validate_default=True,
        description="folder written by `vemeter model train`, relative to the config file; "
        "when set, its scores are stored whatever `topics` says",
    )

    @field_validator("designations")
    @classmethod
    def _designations(cls, value: list[str]) -> list[str]:
        known = DesignationTable.load().jurisdictions
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(
                f"unknown jurisdiction {', '.join(map(repr, unknown))} "
                f"(use any of: {', '.join(sorted(known))})"
            )
        return sorted(set(value))

    @field_validator("model")
    @classmethod
    def _model(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # Existence is checked when a crawl or import starts (crawler/model_cli.check_topic_model),
        # so that `vemeter model train` can write the first model to this very path.
        topics = info.data.get("topics", "lexicon")
        if value is None and topics != "lexicon":
            raise ValueError(
                f"topics: {topics} needs a trained model (set classifier.model to the folder "
                "`vemeter model train` writes, or use topics: lexicon)"
            )
        return value

    def model_dir(self, base: Path) -> Path | None:
        """The model folder, a relative path resolved against `base` (the config's folder)."""
        if self.model is None:
            return None
        return self.model if self.model.is_absolute() else (base / self.model).resolve()


class ExportSettings(_Strict):
    """How figures are published: `vemeter stats` and `vemeter report`."""

    min_cell: int = Field(
        0, ge=0, description='counts below this are shown as "<min_cell"; 0 shows every count'
    )


class FieldMap(_Strict):
    """Which column (CSV) or key (JSON lines) of an imported file holds each post field."""

    id: str = "id"
    text: str = "text"
    published_at: str = "published_at"
    author: str = "author"
    views: str = "views"
    url: str = "url"
    platform: str = "platform"
    source: str = "source"
    target: str = "target"


class ImportSettings(_Strict):
    """`vemeter import`: how to read files exported by other collection tools."""

    fields: FieldMap = Field(default_factory=lambda: FieldMap())
    platform: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,15}$")
    source: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
    # Larger than a crawl's storage.batch_size: a file has no pauses to store in, and each
    # transaction's per-batch work (daily counts, statement set-up) is shared by more rows.
    batch_size: int = Field(2000, ge=1, le=50_000, description="posts per transaction")


class ReviewPlanning(_Strict):
    """Planning prevalences per review stratum for Neyman allocation (unset: the documented defaults)."""

    flagged: float | None = Field(None, gt=0, lt=1)
    borderline: float | None = Field(None, gt=0, lt=1)
    low: float | None = Field(None, gt=0, lt=1, description="unflagged posts not borderline")


class ReviewAppSettings(_Strict):
    """`vemeter review serve`: reviewer wellbeing limits and who adjudicates what."""

    break_minutes: int = Field(
        25, ge=0, le=480, description="remind to take a break after this much work (0: never)"
    )
    pause_minutes: int = Field(
        5, ge=1, le=120, description="a pause this long ends a stretch of continuous work"
    )
    daily_cap_minutes: int = Field(
        120, ge=0, le=1440, description="no new item after this much text on screen a day (0: none)"
    )
    blur: bool = Field(
        True, description="texts blurred until revealed (each reviewer may change it)"
    )
    timezone: str = Field("UTC", description="the day the cap counts in, e.g. Asia/Almaty")
    show_reviewer_names: bool = Field(False, description="leads see reviewers' names")
    adjudicate_own_items: bool = Field(
        False, description="a lead may adjudicate items they labelled (a single-lead team)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone name (use e.g. UTC or Asia/Almaty)"
            ) from None
        return value


class ReviewSettings(_Strict):
    """`vemeter review`: how review samples are drawn, and the review app's settings."""

    floor_share: float | None = Field(
        None, ge=0, le=0.33, description="least share of a cell's budget per stratum"
    )
    borderline_score: float = Field(
        0.2, gt=0, le=1, description="an unflagged post with a model score this high is borderline"
    )
    double_share: float = Field(0.15, ge=0, le=1, description="share of items labelled twice")
    planning: ReviewPlanning = Field(default_factory=lambda: ReviewPlanning())
    app: ReviewAppSettings = Field(default_factory=lambda: ReviewAppSettings())


class HealthSettings(_Strict):
    """When a target's yield is a likely break (crawler.health)."""

    min_share: float = Field(
        0.2, ge=0, le=1, description="a run below this share of the target's recent median"
    )
    history: int = Field(10, ge=1, le=1000, description="runs the median is taken over")
    min_runs: int = Field(3, ge=1, le=1000, description="runs needed before a baseline holds")


class AlertSettings(_Strict):
    """Where alerts go (crawler.alerts): a command given the JSON on stdin, a webhook, or both."""

    command: list[str] | None = Field(None, min_length=1)
    webhook: str | None = Field(None, pattern=r"^https?://")
    # A webhook URL that is itself a secret (Slack, Teams) is named, never written.
    webhook_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per delivery")


class ProjectConfig(_Strict):
    """One measurement project: its storage, privacy and classifier settings, and its sources."""

    project: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    storage: StorageSettings = Field(default_factory=lambda: StorageSettings())
    privacy: PrivacySettings = Field(default_factory=lambda: PrivacySettings())
    classifier: ClassifierSettings = Field(default_factory=lambda: ClassifierSettings())
    sources: list[Any] = Field(default_factory=list)
    imports: ImportSettings = Field(default_factory=lambda: ImportSettings(), alias="import")
    export: ExportSettings = Field(default_factory=lambda: ExportSettings())
    review: ReviewSettings = Field(default_factory=lambda: ReviewSettings())
    health: HealthSettings = Field(default_factory=lambda: HealthSettings())
    alerts: AlertSettings = Field(default_factory=lambda: AlertSettings())
    path: Path = Path("vemeter.yaml")
    config_hash: str = ""

    def source(self, name: str) -> SourceRules:
        for src in self.sources:
            if src.name == name:
                return src  # type: ignore[no-any-return]
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError([f"{self.path}: no source named {name!r} (sources: {known})"])

    @property
    def database_url(self) -> str:
        """The storage URL with a relative SQLite path resolved against the config's folder."""
        url = self.storage.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:":
            path = Path(url[len(prefix) :])
            if not path.is_absolute():
                path = (self.path.parent / path).resolve()
            return prefix + str(path)
        return url

    def lexicon_paths(self) -> list[Path]:
        return [
            p if p.is_absolute() else (self.path.parent / p).resolve()
            for p in self.classifier.lexicons
        ]


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A YAML date, or the text as written when no such day exists (2025-02-29, 2025-13-01).

    PyYAML would raise a bare ValueError while loading; as text it reaches validation, which
    reports it with its key, beside every other problem.
    """
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


# The safe loader (libyaml's when there is one) with that one constructor changed.
_Loader: type[yaml.SafeLoader] = type("_Loader", (yaml_text.SafeLoader,), {})
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

_DATE_KINDS = frozenset({"datetime_from_date_parsing", "datetime_parsing", "datetime_type"})

_HINTS = {
    "extra_forbidden": "unknown key (check its spelling against configs/example.yaml)",
    "missing": "required key is missing (add it)",
    "string_pattern_mismatch": "has characters that are not allowed (use letters, digits, - _ .)",
    "literal_error": "",
    "too_short": "needs at least one entry",
    "datetime_from_date_parsing": "is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)",
    "datetime_parsing": "is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)",
    "datetime_type": "is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)",
}


def _describe(err: dict[str, Any]) -> str:
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    hint = _HINTS.get(kind)
    if hint and kind in _DATE_KINDS and isinstance(err.get("input"), str | int | float):
        return f"{str(err['input'])[:40]!r} {hint}"
    if hint:
        return hint
    if kind == "literal_error":
        return f"{message[0].lower()}{message[1:]}"
    return message


def _path(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problems(file: Path, exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[str]:
    return [
        f"{file}: {_path(prefix + tuple(e['loc']))}: {_describe(dict(e))}" for e in exc.errors()
    ]


def _secrets_in(data: Any) -> set[str]:
    """Every key or value of the YAML that looks like a token or key (never shown back)."""
    found: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif looks_secret(item):
            found.add(item.strip())
    return found


def _hide(problems: list[str], secrets: set[str]) -> list[str]:
    """The problems with every secret-looking value of the config replaced by a placeholder."""
    out = []
    for line in problems:
        for secret in sorted(secrets, key=len, reverse=True):
            line = line.replace(repr(secret), HIDDEN).replace(secret, HIDDEN)
        out.append(line)
    return out


def _source(
    file: Path, i: int, raw: dict[Any, Any], rules: type[SourceRules]
) -> tuple[SourceRules | None, list[str]]:
    """One source validated, and every problem of it: its fields', and those between its fields.

    The checks between fields run on the fields that are valid on their own, so a source with a
    bad target and `since` after `until` is told both at once.
    """
    adapter: TypeAdapter[SourceRules] = TypeAdapter(rules)
    context = {PARTIAL: True}
    try:
        src = adapter.validate_python(raw, context=context)
    except ValidationError as exc:
        problems = _problems(file, exc, ("sources", i))
        failed = {e["loc"][0] for e in exc.errors() if e["loc"]}
        rest = {k: v for k, v in raw.items() if k not in failed}
        try:
            partial = adapter.validate_python(rest, context=context)
        except ValidationError:
            return None, problems  # e.g. the name is missing: nothing to check between fields
        valid = set(type(partial).model_fields) - {str(f) for f in failed}
        cross = partial.problems_among(valid)
        return None, problems + [f"{file}: sources.{i}: {m}" for m in cross]
    cross = src.problems_among()
    return (None if cross else src), [f"{file}: sources.{i}: {m}" for m in cross]


def parse_config(text: str, file: Path) -> ProjectConfig:
    """Validate config text; raise ConfigError listing every problem as `file: key.path: problem`.

    Every problem is found in one pass (types, dates, unknown keys, checks between fields,
    duplicate source names); a value that looks like a secret is never shown back.
    """
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            [
                f"{file}: {where}: YAML syntax error: {problem} (fix the indentation or quoting there)"
            ]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [
                f"{file}: (top level): expected a mapping of keys such as `project:` and `sources:` (see configs/example.yaml)"
            ]
        )

    problems: list[str] = []
    sources_raw = data.get("sources")
    sources: list[SourceRules] = []
    if isinstance(sources_raw, list):
        names: dict[str, int] = {}
        for i, raw in enumerate(sources_raw):
            if not isinstance(raw, dict):
                problems.append(
                    f"{file}: sources.{i}: expected a mapping with name, platform, targets"
                )
                continue
            name = raw.get("name")
            if isinstance(name, str) and name.strip() in names:
                problems.append(
                    f"{file}: sources.{i}.name: {name.strip()!r} is used by another source "
                    f"(sources.{names[name.strip()]}; names must be unique)"
                )
            elif isinstance(name, str):
                names[name.strip()] = i
            key = raw.get("platform")
            if not isinstance(key, str) or key not in PLATFORMS:
                known = ", ".join(sorted(PLATFORMS))
                shown = repr(key) if isinstance(key, str | int | float | None) else "this"
                problems.append(
                    f"{file}: sources.{i}.platform: {shown} is not a supported platform (use one of: {known})"
                )
                continue
            src, found = _source(file, i, raw, PLATFORMS[key].rules)
            problems.extend(found)
            if src is not None:
                sources.append(src)
    elif sources_raw is not None:
        problems.append(
            f"{file}: sources: expected a list of sources (each with name, platform, targets)"
        )

    try:
        config = ProjectConfig.model_validate(
            {
                **data,
                "sources": sources or data.get("sources") or [],
                "path": file.resolve(),
                "config_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
            }
        )
    except ValidationError as exc:
        # Sources were validated one by one above; only their absence is reported from here.
        problems.extend(
            _problems(
                file,
                ValidationError.from_exception_data(
                    exc.title,
                    [e for e in exc.errors() if e["loc"][:1] != ("sources",) or len(e["loc"]) == 1],  # type: ignore[misc]
                ),
            )
        )
        config = None
    if problems:
        raise ConfigError(_hide(problems, _secrets_in(data)))
    assert config is not None
    return config


def load_config(path: Path | str) -> ProjectConfig:
    """Read and validate the config file at `path`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: file not found (give the path of a project YAML, e.g. configs/example.yaml)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: cannot read it ({exc})"]) from None
    return parse_config(text, file)


def with_window(
    config: ProjectConfig, since: datetime | None, until: datetime | None
) -> ProjectConfig:
    """A copy of the config whose sources use the command line's `--since/--until` instead."""
    if since is None and until is None:
        return config
    sources = [
        s.model_copy(
            update={k: v for k, v in (("since", since), ("until", until)) if v is not None}
        )
        for s in config.sources
    ]
    return config.model_copy(update={"sources": sources})
