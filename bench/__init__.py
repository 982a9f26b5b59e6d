"""Reproducible benchmarks. Each prints a ratio against a baseline measured in the same run."""
