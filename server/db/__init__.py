"""The database: the engine, the models, and the Alembic migrations."""
