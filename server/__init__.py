"""The app factory and wiring: config, database, accounts, pages, the CLI. Imports the rest."""
