"""The three chat platforms' robot formats, signatures and answers: pure functions, no database.

Each platform's documented custom-robot webhook (docs/robots.md cites the pages):

- WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content": ...}}`` POSTed to the
  key URL; success is ``{"errcode": 0}``. No signing: the key in the URL is the secret.
- DingTalk custom robot: ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``; with 加签
  the URL gets ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")));
  success is ``{"errcode": 0}``.
- Feishu custom bot: ``{"msg_type": "post", "content": {"post": {"zh_cn": ...}}}``; with 签名校验 the body
  gets ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")); success
  is ``{"code": 0}``.

A :class:`Notice` holds only metadata (number, process, step, what happened, link): robots post to group
chats, so no field value is ever put in one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

PLATFORMS = ("wecom", "dingtalk", "feishu")
SIGNED = ("dingtalk", "feishu")  # the platforms with a signing secret
TEXT_MAX = 200  # characters of any one admin- or user-authored piece
_MARKDOWN = re.compile(r"([\\`*_\[\]()~|!#])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


@dataclass(frozen=True)
class Notice:
    """What a robot says, already in the site's language; ``labels`` names the four lines and the link."""

    title: str
    number: str
    process: str
    step: str
    what: str
    link: str
    labels: tuple[str, str, str, str, str]  # ticket, process, step, event, "open the ticket"


def one_line(text: str | None) -> str:
    """Collapse whitespace (no line of ours can be broken into two) and cut to TEXT_MAX characters."""
    return " ".join((text or "").split())[:TEXT_MAX]


def escape_markdown(text: str | None) -> str:
    """Admin- or user-authored text as literal Markdown: specials backslash-escaped, HTML's ``<>&`` as entities
    (WeCom renders ``<font>`` tags), one line."""
    escaped = _MARKDOWN.sub(r"\\\1", one_line(text))
    return "".join(_HTML.get(char, char) for char in escaped)


def safe_link(url: str) -> str:
    """A link target that cannot close the Markdown ``(...)`` around it nor carry spaces."""
    return quote(url, safe=":/?#&=%~+.-_")


def markdown_lines(notice: Notice) -> list[str]:
    ticket, process, step, event, open_label = notice.labels
    return [f"**{escape_markdown(ticket)}**: {escape_markdown(notice.number)}",
            f"**{escape_markdown(process)}**: {escape_markdown(notice.process)}",
            f"**{escape_markdown(step)}**: {escape_markdown(notice.step)}",
            f"**{escape_markdown(event)}**: {escape_markdown(notice.what)}",
            f"[{escape_markdown(open_label)}]({safe_link(notice.link)})"]


def wecom(notice: Notice) -> dict:
    heading = f"### {escape_markdown(notice.title)}"
    return {"msgtype": "markdown", "markdown": {"content": "\n".join([heading, *markdown_lines(notice)])}}


def dingtalk(notice: Notice) -> dict:
    """DingTalk breaks lines only at blank lines or two trailing spaces: each line ends in two spaces."""
    heading = f"### {escape_markdown(notice.title)}"
    text = "  \n".join([heading, *markdown_lines(notice)])
    return {"msgtype": "markdown", "markdown": {"title": one_line(notice.title), "text": text}}


def feishu(notice: Notice) -> dict:
    """A rich-text ``post``: plain text elements, so nothing needs escaping."""
    ticket, process, step, event, open_label = notice.labels
    lines = [[{"tag": "text", "text": f"{label}: {one_line(value)}"}]
             for label, value in ((ticket, notice.number), (process, notice.process), (step, notice.step),
                                  (event, notice.what))]
    lines.append([{"tag": "a", "text": one_line(open_label), "href": notice.link}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": one_line(notice.title), "content": lines}}}}


BUILDERS = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu}


def payload(platform: str, notice: Notice) -> str:
    """The stored body (before signing) as compact JSON text."""
    return json.dumps(BUILDERS[platform](notice), ensure_ascii=False, separators=(",", ":"))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签, already URL-encoded for the query string."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu 签名校验: the key is ``timestamp\\nsecret`` and the message is empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed(platform: str, url: str, body: str, secret: str | None, now: float) -> tuple[str, bytes]:
    """The URL and body bytes of one attempt, signed with a fresh timestamp when a secret is set."""
    if platform == "dingtalk" and secret:
        millis = int(now * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={millis}&sign={dingtalk_sign(secret, millis)}"
    elif platform == "feishu" and secret:
        seconds = int(now)
        body = json.dumps({"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **json.loads(body)},
                          ensure_ascii=False, separators=(",", ":"))
    return url, body.encode("utf-8")


def answer_error(platform: str, text: str) -> str | None:
    """None when the platform's answer says the message was accepted, else why not (a failed attempt)."""
    try:
        answer = json.loads(text)
    except ValueError:
        return f"unexpected answer: {text[:200]}"
    if not isinstance(answer, dict):
        return f"unexpected answer: {text[:200]}"
    key = "code" if platform == "feishu" else "errcode"
    code = answer.get(key, answer.get("StatusCode")) if platform == "feishu" else answer.get(key)
    if code == 0:
        return None
    message = answer.get("msg") if platform == "feishu" else answer.get("errmsg")
    return f"{key} {code}: {one_line(str(message))}"
