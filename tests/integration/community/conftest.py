"""The community tests' site: the booking tests' site (approved mentors, an administrator) on
the movable clock of tests/conftest.py."""

from tests.integration.booking.conftest import site

__all__ = ["site"]
