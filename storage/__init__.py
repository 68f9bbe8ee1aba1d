"""Storage: SQLAlchemy models and Alembic migrations, the engine (nothing connects at import), the
flag rule (`records`), batched writes, daily counts, count queries, runs and review tables."""
