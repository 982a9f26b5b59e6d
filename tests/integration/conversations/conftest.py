"""The booking tests' site fixture, shared rather than written again."""

from tests.integration.booking.conftest import site

__all__ = ["site"]
