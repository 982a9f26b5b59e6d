"""Health, metrics, the OpenAPI document and the command line."""
