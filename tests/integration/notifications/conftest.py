"""The booking tests' site fixture, shared; test_email.py overrides it with mail."""

from tests.integration.booking.conftest import site

__all__ = ["site"]
