"""The result every estimator returns, with the publication rule applied, and input checks."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.errors import InputError

__all__ = [
    "MIN_POSITIVES_FOR_POINT",
    "Estimate",
    "Rate",
    "check_confidence",
    "check_count",
    "upper_bound_only",
]

# §0.1: with fewer positives behind a figure than this, only "≤ upper limit" is published.
MIN_POSITIVES_FOR_POINT = 5


def upper_bound_only(positives: int) -> bool:
    """The publication rule: fewer than 5 positives behind a figure -> publish the upper limit only."""
    return positives < MIN_POSITIVES_FOR_POINT


@dataclass(frozen=True, slots=True)
class Estimate:
    """A prevalence with its interval and what it rests on.

    ``method`` names the estimator: ``stratified-hybrid`` (design-based, §6.1 and §7.3),
    ``view-hybrid`` (view sample, §9.2), ``model-based`` (per-cell adjusted count, §8) or
    ``naive-wilson`` (classify-and-count: the flag rate, shown only for comparison).
    ``positives`` and ``reviewed`` count the human-reviewed items (draws, for a view sample)
    behind the figure; for ``naive-wilson`` ``positives`` is the flagged posts and ``reviewed``
    is 0 because no human looked at them.
    """

    prevalence: float
    ci_low: float
    ci_high: float
    method: str
    positives: int
    reviewed: int
    confidence: float = 0.95
    # Wald standard error of the point estimate: a diagnostic, never the published interval.
    wald_se: float | None = None
    # What the figure assumes, e.g. the model-based caveat; shown next to it in exports.
    note: str = ""

    @classmethod
    def simulated(
        cls,
        point: float,
        low: float,
        high: float,
        *,
        method: str,
        positives: int,
        reviewed: int,
        confidence: float,
        wald_se: float | None = None,
        note: str = "",
    ) -> Estimate:
        """An estimate whose interval limits are Monte Carlo quantiles (the hybrid interval).

        The quantiles can land a hair beyond the point estimate when the interval is
        degenerate (a census); the published interval must contain it.
        """
        point = float(point)
        return cls(
            prevalence=point,
            ci_low=min(float(low), point),
            ci_high=max(float(high), point),
            method=method,
            positives=positives,
            reviewed=reviewed,
            confidence=confidence,
            wald_se=wald_se,
            note=note,
        )

    @property
    def upper_bound_only(self) -> bool:
        """True when only "≤ ci_high" may be published (fewer than 5 positives)."""
        return upper_bound_only(self.positives)

    def publishable(self) -> tuple[float | None, float | None, float]:
        """(prevalence, ci_low, ci_high) as exports may show them: ci_high alone when
        upper_bound_only."""
        if self.upper_bound_only:
            return None, None, self.ci_high
        return self.prevalence, self.ci_low, self.ci_high

    def published(self, scale: float = 100.0, digits: int = 2, unit: str = "%") -> str:
        """The figure as it may be published, e.g. ``0.83% (95% CI 0.46-1.96%)`` or ``≤ 1.96%``."""

        def fmt(value: float) -> str:
            return f"{value * scale:.{digits}f}"

        if self.upper_bound_only:
            return f"≤ {fmt(self.ci_high)}{unit}"
        level = f"{self.confidence * 100:g}%"
        return f"{fmt(self.prevalence)}{unit} ({level} CI {fmt(self.ci_low)}-{fmt(self.ci_high)}{unit})"


@dataclass(frozen=True, slots=True)
class Rate:
    """A classifier rate (precision, recall, false-omission rate...) with its interval."""

    value: float
    ci_low: float
    ci_high: float


def check_count(value: object, what: str) -> int:
    """``value`` as a non-negative int, or InputError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{what}: {value!r} is not a count (use a whole number >= 0)")
    return value


def check_confidence(confidence: float) -> float:
    """``confidence`` if it lies strictly between 0 and 1, else InputError."""
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        raise InputError(f"confidence: {confidence!r} is not a level (use e.g. 0.95)")
    if not 0.0 < confidence < 1.0:  # also rejects NaN
        raise InputError(f"confidence: {confidence!r} is not a level (use e.g. 0.95)")
    return float(confidence)
