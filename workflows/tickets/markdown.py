"""A note's Markdown as sanitised HTML: CommonMark by markdown-it-py, then an allow-list by nh3.

Notes are stored as the Markdown text typed and rendered on every page view, so a
better sanitiser fixes every old note at once. Two layers, each enough alone for
the usual attacks: markdown-it-py runs with ``html`` off (raw HTML in a note is
shown as text, never parsed) and refuses ``javascript:``/``vbscript:``/``file:``
links; nh3 (the Rust ``ammonia`` sanitiser) then keeps only the tags, attributes,
URL schemes and classes listed below, adds ``rel="noopener noreferrer nofollow"``
to every link, and drops an ``<img>`` source that is not one of our own attachment
URLs (``/attachments/<key>``), whose download is checked per reader
(``collab.attachment_for``). So a note can neither run script nor make a reader's
browser fetch a third-party URL (a tracking pixel) nor show a ``data:`` image.
Headings move down two levels (``#`` is an ``h3``): the page keeps its one ``h1``.
``@username`` of a known user is marked (``span.lz-mention``, the name as its title).
docs/notes.md says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

KEY = r"[A-Za-z0-9_-]{16,64}"  # uploads.KEY: the names uploads.store gives
#: An attachment's download URL, optionally under the app's mount point: the only image source a note may show.
ATTACHMENT_URL = re.compile(rf"(?:/[A-Za-z0-9._~-]+)*/attachments/({KEY})")
KEYS_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9_/-])(?:/[A-Za-z0-9._~-]+)*/attachments/({KEY})(?![A-Za-z0-9_-])")
#: ``@username``: not inside an e-mail address (``li@example.com``), without a sentence's closing dot.
MENTION = re.compile(r"(?<![A-Za-z0-9_.@])@([A-Za-z0-9_.-]*[A-Za-z0-9_])")
#: Image types every browser shows inline; another file is inserted as a link.
SHOWN_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

TAGS = frozenset({"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "h3", "h4",
                  "h5", "h6", "hr", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "span"})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "span": {"title"}}


def _image_source(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: an image's source must be one of our attachment URLs."""
    if tag == "img" and attribute == "src" and not ATTACHMENT_URL.fullmatch(value):
        return None
    return value


CLEANER = nh3.Cleaner(tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                      attribute_filter=_image_source, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow", allowed_classes={"span": {"lz-mention"}},
                      strip_comments=True)


def _lower_headings(state) -> None:
    """``#`` becomes ``h3``: the ticket page has its ``h1`` and its sections' ``h2``."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"


def _mentions(state) -> None:
    """Split text tokens at ``@username`` into ``mention`` tokens (not inside code: those are no text tokens)."""
    for block in (t for t in state.tokens if t.type == "inline" and t.children):
        children: list[Token] = []
        for token in block.children:
            children += _split(token) if token.type == "text" and "@" in token.content else [token]
        block.children = children


def _split(token: Token) -> list[Token]:
    parts, last = [], 0
    for match in MENTION.finditer(token.content):
        parts.append(_token("text", token.content[last:match.start()]))
        parts.append(_token("mention", match.group(1)))
        last = match.end()
    parts.append(_token("text", token.content[last:]))
    return [part for part in parts if part.content]


def _token(kind: str, content: str) -> Token:
    token = Token(kind, "", 0)
    token.content = content
    return token


def _render_mention(self, tokens, idx, options, env) -> str:
    username = tokens[idx].content
    name = (env.get("names") or {}).get(username)
    if name is None:
        return escapeHtml(f"@{username}")
    return f'<span class="lz-mention" title="{escapeHtml(name)}">@{escapeHtml(username)}</span>'


def _render_image(self, tokens, idx, options, env) -> str:
    """Our attachment: the image; any other source: a link with the alt text, never an ``<img>``."""
    token = tokens[idx]
    source, alt = token.attrGet("src") or "", self.renderInlineAsText(token.children or [], options, env)
    if ATTACHMENT_URL.fullmatch(source):
        return f'<img src="{escapeHtml(source)}" alt="{escapeHtml(alt)}">'
    return f'<a href="{escapeHtml(source)}">{escapeHtml(alt or source)}</a>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
    md.core.ruler.push("lz_headings", _lower_headings)
    md.core.ruler.push("lz_mentions", _mentions)
    md.add_render_rule("mention", _render_mention)
    md.add_render_rule("image", _render_image)
    return md


PARSER = _parser()


def render(text: str, names: Mapping[str, str] | None = None) -> str:
    """The note as HTML safe to put in a page; ``names`` (username -> name) marks the mentions of known users."""
    html = PARSER.render(text or "", {"names": names or {}})
    return CLEANER.clean(html).strip()


def attachment_keys(text: str) -> set[str]:
    """The attachment keys a note's text links to (``/attachments/<key>``), in links and images alike."""
    return set(KEYS_IN_TEXT.findall(text or ""))


def mentioned(text: str) -> set[str]:
    """The usernames a note mentions."""
    return set(MENTION.findall(text or ""))


def _escaped(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]()<>#!|])", r"\\\1", " ".join((text or "file").split()))


def attachment_markdown(filename: str, url: str, mimetype: str) -> str:
    """What the note box inserts for an upload: an image for a shown image type, else a link named by the file."""
    prefix = "!" if mimetype in SHOWN_IMAGES else ""
    return f"{prefix}[{_escaped(filename)}]({url})"
