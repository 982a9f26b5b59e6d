"""The discovery tests' site: the booking tests' site (the app on the movable clock of
tests/conftest.py, with helpers for users and approved mentors)."""

from tests.integration.booking.conftest import site

__all__ = ["site"]
