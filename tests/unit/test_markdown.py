"""Messages' Markdown: whatever a user writes, the HTML holds only the tags and attributes of
the subset, links only to http, https and mailto, and no text of theirs becomes markup."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from server.conversations.markdown import render
from tests.support.fuzz import fuzz_settings

TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ATTRIBUTES = {("a", "href"), ("a", "rel"), ("a", "title"), ("code", "class"), ("ol", "start")}
PIECES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "JaVaScRiPt:",
    "data:text/html,<b>",
    "vbscript:",
    "[x](",
    "](",
    ")",
    "[",
    "]",
    "<",
    ">",
    "&",
    "&lt;",
    "&#x3C;",
    '"',
    "'",
    "`",
    "```",
    "```js",
    "~~~",
    "**",
    "*",
    "_",
    "> ",
    "- ",
    "1. ",
    "# ",
    "\n",
    "\n\n",
    "    ",
    "\\",
    "<https://a.b>",
    "<mailto:x@y.z>",
    '[a](https://a.b "t")',
    "![i](https://a.b/i.png)",
    "[r]: javascript:x",
    "[r]",
    "<!--",
    "-->",
    '<a href="https://a.b">',
    "</p>",
    "onmouseover=",
    "&#106;avascript:",
]


class Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if (tag, name) not in ATTRIBUTES:
                self.problems.append(f"attribute {tag} {name}")
            if name == "href" and not (value or "").lower().startswith(
                ("http://", "https://", "mailto:")
            ):
                self.problems.append(f"href {value}")
            if name == "class" and not (value or "").startswith("language-"):
                self.problems.append(f"class {value}")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")


def problems(html: str) -> list[str]:
    checker = Checker()
    checker.feed(html)
    checker.close()
    return checker.problems


@fuzz_settings(200)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=20).map("".join))
def test_no_input_gets_markup_through(text: str) -> None:
    assert problems(str(render(text))) == []


def test_the_subset_renders() -> None:
    assert render("**b** *i* `c`") == "<p><strong>b</strong> <em>i</em> <code>c</code></p>"
    fenced = render("```python\nprint(1 < 2)\n```")
    assert fenced == '<pre><code class="language-python">print(1 &lt; 2)\n</code></pre>'
    link = render("[docs](https://example.org/a)")
    assert 'href="https://example.org/a" rel="nofollow noopener noreferrer"' in link
    assert render("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>"
    assert render("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"
    assert "<img" not in render("![i](https://example.org/i.png)")
    assert render('```"><script>\nx\n```') == "<pre><code>x\n</code></pre>"
