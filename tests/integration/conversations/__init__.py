"""Conversations through the real app."""
