"""Mentors and booking through the real app."""
