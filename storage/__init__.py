"""Storage: SQLAlchemy models, the engine (nothing connects at import), batched writes, daily
counts, re-classification, review samples and labels, Alembic migrations and count queries."""
