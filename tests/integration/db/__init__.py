"""The database: migrations, SQLite locking, PostgreSQL."""
