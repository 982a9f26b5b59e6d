"""Operations: /healthz, the OpenAPI document, Prometheus metrics and monitoring files."""
