"""Designations by jurisdiction and date decide which organisation mentions count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from classifiers.designations import (
    DEFAULT_CHOICE,
    DesignationError,
    Designations,
    DesignationTable,
)


@pytest.fixture(scope="module")
def table() -> DesignationTable:
    return DesignationTable.load()


def test_taliban_counts_in_kazakhstan_and_kyrgyzstan_only_before_their_delistings(
    table: DesignationTable,
) -> None:
    region = Designations(["kz", "kg"], table)
    assert region.lists("taliban", date(2023, 6, 1)) == ("kg", "kz")
    assert region.lists("taliban", date(2024, 3, 1)) == ("kg",)  # delisted in kz, Dec 2023
    assert region.lists("taliban", date(2024, 10, 1)) == ()  # and in kg, Sept 2024
    assert Designations(["ru"], table).lists("taliban", date(2024, 10, 1)) == ("ru",)


def test_hts_leaves_the_us_list_on_8_july_2025_but_stays_on_the_un_list(
    table: DesignationTable,
) -> None:
    us = Designations(["us"], table)
    assert us.lists("hayat_tahrir_al_sham", datetime(2025, 7, 7, 23, 59, tzinfo=UTC)) == ("us",)
    assert us.lists("hayat_tahrir_al_sham", datetime(2025, 7, 8, tzinfo=UTC)) == ()
    assert Designations(["un", "us"], table).lists("hayat_tahrir_al_sham", date(2025, 9, 1)) == (
        "un",
    )


def test_listing_dates_month_precision_unknown_dates_and_uncovered_families(
    table: DesignationTable,
) -> None:
    tj = Designations(["tj"], table)
    assert tj.lists("islamic_state", date(2015, 3, 31)) == ()
    assert tj.lists("islamic_state", date(2015, 4, 1)) == ("tj",)  # "late Apr 2015": YYYY-MM
    assert tj.lists("jamaat_ansarullah", date(2012, 5, 2)) == ()
    assert tj.lists("jamaat_ansarullah", date(2012, 5, 3)) == ("tj",)
    # Known to be listed, date not found: counted at every date.
    assert tj.lists("isil_khorasan", date(2010, 1, 1)) == ("tj",)
    # A UN-only choice does not count a group only Tajikistan lists.
    assert Designations(["un"], table).lists("jamaat_ansarullah", date(2020, 1, 1)) == ()
    # A family the table does not cover: the lexicon's layer decides (None).
    assert tj.lists("my_project_family", date(2020, 1, 1)) is None


def test_version_follows_the_choice_and_the_table(table: DesignationTable) -> None:
    default = Designations(DEFAULT_CHOICE, table)
    assert default.version == Designations(list(reversed(DEFAULT_CHOICE)), table).version
    assert default.version != Designations(["un"], table).version
    assert "@" not in default.version  # it is part of a name@version string
    assert len(default.version) <= 16  # lexicon version + this fit tags.version (32)


def test_unknown_jurisdiction_and_bad_dates_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DesignationError, match="unknown jurisdiction 'xx'"):
        Designations(["un", "xx"])
    bad = tmp_path / "designations.yaml"
    bad.write_text(
        "jurisdictions: {un: UN}\nfamilies:\n  f: [{jurisdiction: un, listed: 2025-02-30, "
        "source: s}]\n",
        encoding="utf-8",
    )
    with pytest.raises(DesignationError, match=r"listed: .*2025-02-30.* is not a date"):
        DesignationTable.load(bad)
    bad.write_text(
        "jurisdictions: {un: UN}\nfamilies:\n  f: [{jurisdiction: ru, listed: null, source: s}]\n",
        encoding="utf-8",
    )
    with pytest.raises(DesignationError, match="unknown jurisdiction 'ru'"):
        DesignationTable.load(bad)


def test_every_shipped_designated_family_but_the_national_lists_is_in_the_table(
    table: DesignationTable,
) -> None:
    from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons

    families = {
        lexicon.family
        for lexicon in load_lexicons([DEFAULT_LEXICON_DIR])
        if lexicon.topic == "designated_org"
    }
    assert families - set(table.families) == {"national_lists"}
    assert set(table.families) <= families
