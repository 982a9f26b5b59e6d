"""Several nodes on one PostgreSQL: the node registry, where each call lives, jobs run once."""
