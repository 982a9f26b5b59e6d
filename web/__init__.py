"""Templates, CSS and the plain-JS browser client. No build step, nothing from a CDN."""

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
