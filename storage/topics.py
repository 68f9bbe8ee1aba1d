"""The two topic values that are not topics: imported by the command line without SQLAlchemy."""

from __future__ import annotations

__all__ = ["ANY_TOPIC", "NO_TOPIC"]

# The topic under which posts without any topic are counted.
NO_TOPIC = "(none)"
# Every post once (daily_counts), and a review label about violent-extremist content as a whole.
ANY_TOPIC = "*"
