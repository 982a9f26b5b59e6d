"""The Markdown messages may use: emphasis, inline code, fenced code blocks with a language,
quotes, lists and links to http(s) and mailto. Raw HTML is never passed through (it shows as
text), images are not loaded from anywhere, and a link to any other scheme (`javascript:`,
`data:`) stays text. The HTML this returns is safe to put in a page as it is."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

LINK_SCHEMES = ("http://", "https://", "mailto:")
LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]{1,30}")
# Chat needs no headings, rules, tables, images, reference definitions or HTML.
OFF = ("image", "heading", "lheading", "hr", "html_block", "html_inline", "reference")


def _allowed_link(url: str) -> bool:
    return url.strip().lower().startswith(LINK_SCHEMES)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(list(OFF))
    md.validateLink = _allowed_link  # type: ignore[method-assign]

    default_fence = md.renderer.rules["fence"]

    def link_open(_: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        if not _allowed_link(str(token.attrGet("href") or "")):
            token.attrs.pop("href", None)  # "[x]()" has an empty one; it goes nowhere
        token.attrSet("rel", "nofollow noopener noreferrer")
        return md.renderer.renderToken(tokens, idx, options, env)

    def fence(_: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        words = token.info.split()
        token.info = words[0] if words and LANGUAGE.fullmatch(words[0]) else ""
        return str(default_fence(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("fence", fence)
    return md


_MD = _build()


@functools.lru_cache(maxsize=256)
def render(text: str) -> Markup:
    """A message's text as safe HTML. Cached: a message sent live is rendered for the sender's
    acknowledgement and for the push to both sides, and pages render the same recent ones."""
    return Markup(_MD.render(text).strip())
