"""coturn: hardened config generation, ephemeral TURN credentials, the launcher. Stdlib only."""
